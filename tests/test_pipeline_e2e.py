"""End to end: copy the repo to a temp dir, git init/commit, `dvc repro` and `dvc exp run -S ...` on
a tiny params set, check the metrics, and round-trip the outputs through a local DVC remote."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
MODELNET = Path(os.environ.get("NF2VEC_SHARED_DATA", REPO_ROOT.parent / "shared" / "data")) / "modelnet40-pc1024"

pytestmark = pytest.mark.slow

TINY = {
    "datasets.shapes.n_per_class": 3,
    "datasets.shapes.resolution": 24,
    "datasets.shapes.n_queries": 2048,
    "datasets.shapes.n_offgrid": 1024,
    "datasets.shapes.n_surface": 512,
    "fit.steps": 40,
    "fit.points_per_step": 512,
    "fit.chunk_size": 8,
    "fit.shard_size": 16,
    "encoder.hidden": [32, 32],
    "encoder.embed_dim": 32,
    "encoder.epochs": 2,
    "encoder.batch_size": 8,
    "encoder.queries_per_item": 256,
    "encoder.grid_queries": 512,
    "decoder.hidden": 32,
    "decoder.layers": 2,
    "classifier.hidden": [32],
    "classifier.epochs": 3,
    "classifier.batch_size": 8,
    "weightspace.gnn.hidden": 8,
    "weightspace.gnn.steps": 1,
    "weightspace.gnn.node_mlp_hidden": 16,
    "weightspace.gnn.edge_mlp_hidden": 16,
    "weightspace.gnn.readout_hidden": 16,
    "weightspace.mlp.hidden": [16],
    "weightspace.train.epochs": 2,
    "retrieval.ks": [1, 2],
    "reconstruct.n_examples": 3,
    "reconstruct.n_figure": 2,
    "reconstruct.resolution": 16,
    "reconstruct.n_points": 256,
    "reconstruct.interpolation_steps": 3,
    "pointnet.epochs": 1,
    "pointnet.batch_size": 8,
    "timing.pointnet_points": 128,
    "part_seg.points": 64,
    "part_seg.plot_shapes": 2,
    "part_seg.decoder": {"hidden": 16, "layers": 2, "pe_freqs": 2, "points_per_shape": 32, "epochs": 2,
                         "batch_size": 8},
    "part_seg.pointnet": {"epochs": 1, "batch_size": 8},
    "completion.transfer": {"hidden": [16], "epochs": 5, "seed": 0},
    "completion.n_points": 128,
    "completion.resolution": 12,
    "completion.n_figure": 2,
    "completion.n_calibration": 2,
    "shape_generation.gan": {"noise_dim": 4, "pca_dim": 4, "generator": [16], "critic": [16], "steps": 5,
                             "n_critic": 2, "draws": 2},
    "shape_generation.n_points": 128,
    "shape_generation.metric_points": 64,
    "shape_generation.resolution": 12,
    "shape_generation.figure_per_class": 1,
    "timing.points": [256, 512],
    "timing.repeats": 2,
    "nerf.data.n_per_class": 3,
    "nerf.data.views": {"n_views": 4, "n_val_views": 1, "height": 16, "width": 16, "mesh_resolution": 24,
                        "supersample": 1, "color_jitter": 0.1, "seed": 0},
    "nerf.arch.num_freqs": 4,
    "nerf.arch.hidden": 16,
    "nerf.fit.steps": 10,
    "nerf.fit.rays_per_step": 64,
    "nerf.fit.render": {"samples_per_ray": 8},
    "nerf.shard_size": 16,
    "nerf.encoder.hidden": [16, 16],
    "nerf.encoder.embed_dim": 16,
    "nerf.encoder.epochs": 2,
    "nerf.encoder.batch_size": 4,
    "nerf.encoder.rays_per_item": 32,
    "nerf.encoder.samples_per_ray": 8,
    "nerf.decoder": {"hidden": 16, "layers": 2, "pe_freqs": 2, "skip": True},
    "nerf.baseline": {"views": 2, "channels": [8], "epochs": 1, "batch_size": 8, "samples_per_ray": 8},
    "nerf.transfer.hidden": [16],
    "nerf.transfer.epochs": 3,
    "nerf.generation": {"noise_dim": 4, "pca_dim": 4, "generator": [16], "critic": [16], "steps": 5, "n_critic": 2,
                        "draws": 2},
    "arena.datasets": {"digits": {"source": "digits", "inputs": "nf2vec_core/data/readers.py", "field": "pixels",
                                  "n_per_class": 12,
                                  "split": {"val": 0.2, "test": 0.3}, "seed": 0}},
    "arena.fit.chunk_size": 64,
    "arena.runs": {"digits-siren-s20-shared": {"dataset": "digits", "nf": "siren", "init": "shared", "steps": 20,
                                               "models": "gnn,mlp"},
                   "digits-siren-s20-random": {"dataset": "digits", "nf": "siren", "init": "random", "steps": 20,
                                               "models": "mlp"}},
    "arena.classify.gnn.hidden": 8,
    "arena.classify.gnn.steps": 1,
    "arena.classify.gnn.node_mlp_hidden": 16,
    "arena.classify.gnn.edge_mlp_hidden": 16,
    "arena.classify.gnn.readout_hidden": 16,
    "arena.classify.mlp.hidden": [16],
    "arena.classify.train.epochs": 2,
    "arena.connectivity": {"dataset": "digits", "nf": "siren", "signals": 2, "replicas": 2, "steps": 20,
                           "lr": 0.001, "points_per_step": 32, "curve_steps": 3, "seed": 0},
}


def _set(params: dict, dotted: str, value) -> None:
    node = params
    *head, last = dotted.split(".")
    for k in head:
        node = node[k]
    node[last] = value


def _tiny_modelnet(params: dict) -> None:
    """ModelNet40 is too big for the tiny run: modelnet10 shrinks to 3 classes x 8 real clouds of
    ``../shared/data`` when it is there, and both entries leave the pipeline when it is not."""
    del params["datasets"]["modelnet40"]
    params["pipeline"]["datasets"] = ["shapes"]
    if not (MODELNET / "bathtub").is_dir():
        del params["datasets"]["modelnet10"]
        return
    params["datasets"]["modelnet10"].update({
        "root": str(MODELNET), "inputs": str(MODELNET), "classes": ["bathtub", "bed", "chair"], "n_per_class": 8,
        "n_queries": 2048, "n_offgrid": 512, "n_surface": 512})
    params["pipeline"]["datasets"] = ["shapes", "modelnet10"]


def _tiny_field_kinds(params: dict) -> None:
    """One field-kind dataset, five classes of the tiny shapes as SDFs (t-SNE needs four test
    items): the field map runs from the tiny occupancy shapes to it, and its page shows both."""
    del params["datasets"]["shapes_udf"]
    params["datasets"]["shapes_sdf"].update({k: params["datasets"]["shapes"][k] for k in (
        "n_per_class", "resolution", "n_queries", "n_offgrid", "n_surface")})
    params["datasets"]["shapes_sdf"]["classes"] = ["table", "chair", "mug", "lamp", "bottle"]
    params["pipeline"]["datasets"].append("shapes_sdf")
    params["pipeline"]["field_maps"] = {"shapes_to_sdf": {"source": "shapes", "target": "shapes_sdf"}}
    params["pipeline"]["field_kinds"] = ["shapes", "shapes_sdf", "shapes_sdf"]
    params["pipeline"]["field_kinds_map"] = "shapes_to_sdf"
    params["field_map"].update({"transfer": {"hidden": [16], "epochs": 5, "seed": 0}, "n_points": 128,
                                "resolution": 12, "n_figure": 2})


def _run(cmd: list[str], cwd: Path, env: dict) -> str:
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, f"{' '.join(cmd)} failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res.stdout


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory) -> tuple[Path, dict]:
    work = tmp_path_factory.mktemp("e2e") / "repo"
    top_level = {".venv", ".git", "data", "models", "reports", ".pytest_cache"}

    def ignore(directory: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}
        if Path(directory) == REPO_ROOT:
            skip |= top_level & set(names)
        if Path(directory) == REPO_ROOT / ".dvc":
            skip |= {"tmp", "cache"} & set(names)
        return skip

    shutil.copytree(REPO_ROOT, work, ignore=ignore)
    params = yaml.safe_load((work / "params.yaml").read_text())
    for k, v in TINY.items():
        _set(params, k, v)
    _tiny_modelnet(params)
    _tiny_field_kinds(params)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "tiny"]):
        _run(cmd, work, env)
    _run([sys.executable, "-m", "dvc", "repro"], work, env)
    return work, env


def test_repro_produces_metrics(tiny_repo):
    work, _ = tiny_repo
    fit = json.loads((work / "metrics" / "fit_shapes.json").read_text())
    assert fit["count"] >= 24 and 0 <= fit["mean_iou"] <= 1 and 0 <= fit["mean_iou_offgrid"] <= 1
    index = (work / "data" / "neural" / "shapes" / "index.csv").read_text().splitlines()
    assert len(index) == fit["count"] + 1
    assert (work / "dvc.lock").exists()
    views = json.loads((work / "metrics" / "fit_views_shapes.json").read_text())   # one more fit per train/val shape
    view_index = (work / "data" / "neural_views" / "shapes" / "view1" / "index.csv").read_text().splitlines()
    assert views["count"] == 2 and len(view_index) == views["view1"]["count"] + 1 < fit["count"] + 1
    assert 0 <= views["view1"]["mean_iou_offgrid"] <= 1 and "mean_iou" not in views["view1"]  # off-grid only
    assert (work / "data" / "embeddings" / "shapes" / "views" / "embeddings.safetensors").is_file()
    cls = json.loads((work / "metrics" / "classify_shapes.json").read_text())
    assert 0.0 <= cls["accuracy"] <= 1.0 and cls["n_test"] > 0
    assert cls["n_train"] == 2 * sum(1 for r in index[1:] if ",train," in r)            # the views train too
    ret = json.loads((work / "metrics" / "retrieval_shapes.json").read_text())
    assert {"map@1", "hit@1", "precision@2"} <= set(ret)
    rec = json.loads((work / "metrics" / "reconstruct_shapes.json").read_text())
    assert rec["nf_chamfer"] >= 0 and 0 <= rec["nf2vec_fscore"] <= 1
    assert 0 < rec["nf2vec_level"] < 1 and len(rec["nf2vec_level_calibration"]) == 19   # chosen on val
    base = json.loads((work / "metrics" / "baselines_shapes.json").read_text())
    assert 0 <= base["pointnet_accuracy"] <= 1 and base["seeds"] == cls["seeds"]      # PointNet: same seeds
    assert len(base["pointnet_accuracy_per_seed"]) == len(cls["seeds"]) and base["n_test"] == cls["n_test"]
    curve = (work / "plots" / "pointnet_shapes.csv").read_text().splitlines()      # its validation curve
    assert curve[0].startswith("epoch,") and "val_accuracy" in curve[0] and len(curve) == 2   # 1 epoch
    assert json.loads((work / "timings" / "timing_shapes.json").read_text())["nf2vec_encode_classify_ms"] > 0
    assert not (work / "metrics" / "timing_shapes.json").exists()      # latencies are timings, not metrics
    assert json.loads((work / "timings" / "fit_shapes.json").read_text())["seconds"] > 0
    for m in (work / "metrics").rglob("*.json"):   # run-to-run varying figures go to timings/
        if not any(k in m.name for k in ("_shapes", "_modelnet10", "-s20-", "nerf_")):    # only what this run wrote
            continue
        assert not {"seconds", "train_seconds", "fitted_now", "nf_steps_per_s", "timing_ms"} & set(m.read_text().replace('"', ' ').split()), m
    ws = json.loads((work / "metrics" / "weightspace_shapes.json").read_text())
    assert 0 <= ws["gnn_accuracy"] <= 1 and 0 <= ws["mlp_accuracy"] <= 1 and 0 <= ws["weights_kmeans_nmi"] <= 1
    assert (ws["n_train"], ws["n_test"]) == (cls["n_train"], cls["n_test"])    # the classifier's items, views too
    assert len(ws["gnn"]["accuracy_per_seed"]) == len(cls["seeds"]) == len(ws["seeds"])
    for png in ("confusion_shapes", "confusion_gnn_shapes", "tsne_shapes", "reconstruct_shapes", "interpolation_shapes", "timing_shapes"):
        assert (work / "plots" / f"{png}.png").stat().st_size > 1000
    summary = (work / "reports" / "summary_shapes.md").read_text()
    assert "nf2vec classification accuracy" in summary and "graph meta-network" in summary
    seg = json.loads((work / "metrics" / "part_seg_shapes.json").read_text())
    for m in ("nf2vec", "pointnet"):
        assert 0 <= seg[m]["instance_miou"] <= 1 and len(seg[m]["instance_miou_per_seed"]) == len(seg["seeds"])
    assert (work / "models" / "shapes" / "part_decoder.safetensors").is_file()
    assert (work / "plots" / "part_seg_shapes.png").stat().st_size > 1000
    comp = json.loads((work / "metrics" / "completion_shapes.json").read_text())
    assert json.loads((work / "metrics" / "fit_partial_shapes.json").read_text())["count"] == fit["count"]
    assert (work / "plots" / "completion_shapes.png").stat().st_size > 1000 and comp
    fmap = json.loads((work / "metrics" / "field_map_shapes_to_sdf.json").read_text())
    assert (fmap["source_kind"], fmap["target_kind"]) == ("occupancy", "sdf") and fmap["n_test"] >= 1
    assert 0 <= fmap["watertight_share"] <= 1 and set(fmap["scores"]) == {
        "nf2vec_mapping", "source_embedding", "nearest_train", "target_embedding"}
    assert (work / "plots" / "field_map_shapes_to_sdf.png").stat().st_size > 1000
    assert json.loads((work / "metrics" / "classify_shapes_sdf.json").read_text())["n_test"] >= 4
    assert "Mapping between field kinds" in (work / "reports" / "field-kinds.html").read_text()
    gen = json.loads((work / "metrics" / "shape_generation_shapes.json").read_text())
    assert (work / "plots" / "shape_generation_shapes.png").stat().st_size > 1000 and gen


def test_repro_runs_real_point_clouds_as_udf_fields(tiny_repo):
    """The modelnet10 entry on real ModelNet40 clouds: UDF fields through every stage of the pipeline."""
    work, _ = tiny_repo
    if not (work / "metrics" / "fit_modelnet10.json").exists():
        pytest.skip(f"ModelNet40 point clouds not found at {MODELNET}")
    fit = json.loads((work / "metrics" / "fit_modelnet10.json").read_text())
    assert fit["count"] == 24 and fit["mean_chamfer"] > 0 and "mean_udf_mae" in fit
    meta = json.loads((work / "data" / "prepared" / "modelnet10" / "meta.json").read_text())
    assert meta["kind"] == "udf" and meta["classes"] == ["bathtub", "bed", "chair"]
    cls = json.loads((work / "metrics" / "classify_modelnet10.json").read_text())
    assert 0 <= cls["accuracy"] <= 1 and cls["n_test"] > 0
    rec = json.loads((work / "metrics" / "reconstruct_modelnet10.json").read_text())
    assert rec["nf_chamfer"] > 0 and rec["nf2vec_chamfer"] > 0 and 0 <= rec["nf2vec_fscore"] <= 1
    base = json.loads((work / "metrics" / "baselines_modelnet10.json").read_text())
    ws = json.loads((work / "metrics" / "weightspace_modelnet10.json").read_text())
    assert 0 <= base["pointnet_accuracy"] <= 1 and 0 <= ws["gnn_accuracy"] <= 1 and 0 <= ws["mlp_accuracy"] <= 1
    assert {"hit@1", "map@1"} <= set(json.loads((work / "metrics" / "retrieval_modelnet10.json").read_text()))
    assert "nf2vec classification accuracy" in (work / "reports" / "summary_modelnet10.md").read_text()


def test_repro_runs_the_nerf_stages(tiny_repo):
    work, _ = tiny_repo
    fit = json.loads((work / "metrics" / "nerf_fit.json").read_text())
    assert fit["count"] == 30 and fit["mean_psnr"] > 5
    assert (work / "data" / "views" / "shapes" / "table_0000" / "transforms_train.json").is_file()
    tr = json.loads((work / "metrics" / "nerf_train.json").read_text())
    assert tr["test_decoded_psnr"] > 0 and tr["test_blank_psnr"] > 0 and tr["n_train"] == 10
    tasks = json.loads((work / "metrics" / "nerf_tasks.json").read_text())
    for k in ("nf2vec_accuracy", "single_view_accuracy", "multi_view_accuracy"):
        assert 0 <= tasks[k] <= 1
    assert "map@1" in tasks["retrieval"] and "speedup_vs_multi_view" not in tasks          # a timing
    assert json.loads((work / "timings" / "nerf_tasks.json").read_text())["speedup_vs_multi_view"] > 0
    transfer = json.loads((work / "metrics" / "nerf_transfer.json").read_text())
    assert transfer["n_test"] == 10 and transfer["test_mapped_psnr"] > 0
    gen = json.loads((work / "metrics" / "nerf_generation.json").read_text())
    assert gen["draws"] == 2 and gen["n_test"] == 10 and gen["train_embeddings"]["novelty"] == 0
    for name in ("latent_gan", "gaussian_per_class"):
        assert gen[name]["mmd"] > 0 and 0 <= gen[name]["coverage"] <= 1 and 0 <= gen[name]["class_consistency"] <= 1
    for png in ("nerf_reconstruct", "nerf_interpolation", "nerf_confusion", "nerf_transfer", "nerf_retrieval",
                "nerf_generation"):
        assert (work / "plots" / f"{png}.png").stat().st_size > 1000


def _tree_digest(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_infer_on_a_folder_the_pipeline_never_saw(tiny_repo, tmp_path):
    from nf2vec_core.data import procedural as proc
    work, env = tiny_repo
    folder = tmp_path / "new"
    for c in ("table", "chair"):                                   # official-test-like: <class>/test/*.off
        for i in range(2):
            (folder / c / "test").mkdir(parents=True, exist_ok=True)
            proc.shape_mesh(proc.make_shape(c, 5000 + i), resolution=32).export(folder / c / "test" / f"{c}_{i}.off")
    (folder / "teapot" / "test").mkdir(parents=True)                # not a class of the dataset: predicted only
    proc.shape_mesh(proc.make_shape("mug", 5100), resolution=32).export(folder / "teapot" / "test" / "t_0.off")
    before = {d: _tree_digest(work / d) for d in ("data", "models")}
    out = tmp_path / "out"
    _run([sys.executable, "-m", "nf2vec_core.cli", "infer", "--dataset", "shapes", "--input", str(folder),
          "--layout", "modelnet", "--out", str(out), "--project", str(work), "--k", "2"], REPO_ROOT, env)
    pred = (out / "predictions.csv").read_text().splitlines()
    assert len(pred) == 1 + 5 and pred[0].startswith("id,source,class_name,predicted,probability,neighbours")
    assert all(len(r.split(",")[5].split(";")) == 2 for r in pred[1:])   # two training neighbours each
    m = json.loads((out / "metrics.json").read_text())
    assert m["count"] == 5 and m["labelled"] == 4 and 0 <= m["accuracy"] <= 1
    assert sum(map(sum, m["confusion"])) == 4
    assert {d: _tree_digest(work / d) for d in ("data", "models")} == before   # no pipeline output touched
    res = subprocess.run([sys.executable, "-m", "nf2vec_core.cli", "infer", "--dataset", "shapes", "--input",
                          str(folder), "--layout", "modelnet", "--out", str(work / "data" / "x"), "--project",
                          str(work)], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.count("error:") == 1 and "Traceback" not in res.stderr


def test_repro_runs_the_arena(tiny_repo):
    work, _ = tiny_repo
    for run in ("digits-siren-s20-shared", "digits-siren-s20-random"):
        fit = json.loads((work / "metrics" / "arena" / f"fit_{run}.json").read_text())
        assert fit["count"] == 120 and fit["mean_psnr"] > 5
        ws = json.loads((work / "metrics" / "arena" / f"weightspace_{run}.json").read_text())
        assert 0 <= ws["mlp_accuracy"] <= 1
    conn = json.loads((work / "metrics" / "arena_connectivity.json").read_text())
    assert conn["same_init_matching_identity_fraction"] > conn["different_inits_matching_identity_fraction"]
    board = (work / "reports" / "leaderboard.md").read_text()
    assert "| digits | gnn | shared | siren | 20 |" in board and "96.40" in board
    summary = json.loads((work / "metrics" / "arena_summary.json").read_text())
    assert summary["runs"] == 2 and "digits/siren" in summary["init"]
    for png in ("accuracy_vs_nmi", "accuracy_vs_psnr_ratio", "param_distances_digits_siren", "mode_connectivity",
                "repeatability"):
        assert (work / "plots" / "arena" / f"{png}.png").stat().st_size > 1000


def test_exp_run_with_set_param_and_metrics_diff(tiny_repo):
    work, env = tiny_repo
    _run(["git", "add", "-A"], work, env)
    _run(["git", "commit", "-qm", "lock"], work, env)
    # the target keeps the run to the encoder and what reads it on the way to one classifier
    _run([sys.executable, "-m", "dvc", "exp", "run", "-S", "encoder.lr=0.003", "classify@shapes"], work, env)
    out = _run([sys.executable, "-m", "dvc", "exp", "show", "--json"], work, env)
    assert "0.003" in out
    diff = json.loads(_run([sys.executable, "-m", "dvc", "metrics", "diff", "--json"], work, env) or "{}")
    assert any("train_shapes" in k for k in diff)           # the experiment changed the encoder metrics
    assert not any("modelnet10" in k or "nerf" in k for k in diff)   # and nothing outside the target's chain


def test_remote_push_pull_roundtrip(tiny_repo, tmp_path):
    work, env = tiny_repo
    remote = tmp_path / "remote"
    _run([sys.executable, "-m", "dvc", "remote", "add", "-f", "-d", "local", str(remote)], work, env)
    _run([sys.executable, "-m", "dvc", "push"], work, env)
    shutil.rmtree(work / "data")
    _run([sys.executable, "-m", "dvc", "pull"], work, env)
    assert (work / "data" / "neural" / "shapes" / "index.csv").exists()

"""The shape-completion stages (partial_shapes -> fit_partial -> shape_complete), run by their
dvc.yaml commands on a tiny project: a few procedural shapes, their NFs and a one-epoch encoder."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from nf2vec_core.config import load_section
from nf2vec_core.data.prepare import DatasetParams, SplitParams, prepare_dataset
from nf2vec_core.decoders.implicit import ImplicitDecoderConfig
from nf2vec_core.errors import BadInputError
from nf2vec_core.encoders.rows import RowEncoderConfig, encode
from nf2vec_core.fitting.run import FitParams, NFParams, fit_dataset
from nf2vec_core.store.embeddings import write_embeddings
from nf2vec_core.store.neural_dataset import NeuralDataset
from nf2vec_core.store.prepared import PreparedData
from nf2vec_core.store.results import split_timings
from nf2vec_core.tasks.completion import CompletionParams, check_pairs, complete_shapes
from nf2vec_core.train.checkpoint import load_model
from nf2vec_core.train.data import field_dataset
from nf2vec_core.train.trainer import TrainConfig, train_nf2vec

REPO_ROOT = Path(__file__).resolve().parents[1]
D = "tiny"
NF = {"family": "siren", "hidden": 8, "depth": 2, "w0": 10.0, "w0_first": 30.0}
FIT = {"steps": 15, "lr": 0.005, "points_per_step": 256, "chunk_size": 4, "shard_size": 8, "workers": 1,
       "device": "cpu"}
COMPLETION = {"partial": {"mode": "crop", "remove_low": 0.3, "remove_high": 0.5, "batch": 4, "seed": 0},
              "transfer": {"hidden": [16], "epochs": 5, "seed": 0}, "n_points": 128, "resolution": 12,
              "n_figure": 2, "n_calibration": 2}
STAGES = ("partial_shapes", "fit_partial", "shape_complete")
SETS = {"partial_input", "nf2vec_completion", "nearest_train", "complete_embedding"}


def _commands() -> dict[str, tuple[str, list[str]]]:
    """Each completion stage's cmd (``python`` -> this interpreter) and declared outputs, for dataset D."""
    stages = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]
    out = {}
    for name in STAGES:
        body = stages[name]["do"]
        assert stages[name]["foreach"] == "${pipeline.completion}"
        cmd = body["cmd"].replace("${item}", D).split()
        declared = [next(iter(e)) if isinstance(e, dict) else e
                    for key in ("outs", "metrics", "plots") for e in body.get(key) or []]
        out[name] = ([sys.executable, *cmd[1:]], [re.sub(r"\$\{item\}", D, p) for p in declared])
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project root holding the stage scripts (a copy: their _common.py takes the root from where
    they are), the library (a link), params.yaml and what the upstream stages would have made."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(REPO_ROOT / "stages", root / "stages", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "nf2vec_core").symlink_to(REPO_ROOT / "nf2vec_core", target_is_directory=True)
    dataset = {"source": "procedural", "field": "occupancy", "n_per_class": 4, "classes": ["table", "mug"],
               "split": {"val": 0.25, "test": 0.25}, "resolution": 16, "n_offgrid": 256, "n_surface": 256,
               "workers": 1, "seed": 0}
    params = {"datasets": {D: dataset}, "nf": NF, "fit": FIT, "pipeline": {"completion": [D]},
              "completion": COMPLETION}
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    prepared, neural = root / "data" / "prepared" / D, root / "data" / "neural" / D
    prepare_dataset(DatasetParams(**{**dataset, "split": SplitParams(**dataset["split"])}), prepared)
    fit_dataset(prepared, neural, NFParams(**NF), FitParams(**FIT))
    data, nfs = PreparedData(prepared), NeuralDataset(neural)
    train = field_dataset(data, nfs, nfs.split_rows("train"), n_grid=256)
    val = field_dataset(data, nfs, nfs.split_rows("val"), n_grid=256, seed=1)
    train_nf2vec(train, val, nfs.spec, data.kind, RowEncoderConfig(hidden=(16, 16), embed_dim=16),
                 ImplicitDecoderConfig(hidden=16, layers=2, pe_freqs=2),
                 TrainConfig(epochs=1, batch_size=4, lr=1e-3, queries_per_item=128), root / "models" / D, device="cpu")
    encoder = load_model(root / "models" / D / "best.safetensors")[0]
    write_embeddings(root / "data" / "embeddings" / D, encode(encoder, nfs.spec, nfs.params()), nfs.index)
    return root


def _run(project: Path, cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=600)


def test_the_three_stages_run_from_their_dvc_yaml_commands(project):
    commands = _commands()
    for name in STAGES:
        cmd, outs = commands[name]
        res = _run(project, cmd)
        assert res.returncode == 0, f"{name}: {res.stderr[-2000:]}"
        missing = [p for p in outs if not (project / p).exists()]
        assert missing == [], f"{name} did not write {missing}"

    complete, partial = PreparedData(project / "data/prepared" / D), PreparedData(project / "data/partial" / D)
    assert partial.index.equals(complete.index) and partial.meta["partial"]["mode"] == "crop"
    nfs, part_nfs = NeuralDataset(project / "data/neural" / D), NeuralDataset(project / "data/neural_partial" / D)
    assert torch.equal(part_nfs.init, nfs.init) and part_nfs.spec == nfs.spec         # the dataset's own init
    assert part_nfs.index["id"].tolist() == nfs.index["id"].tolist()
    assert not torch.equal(part_nfs.params(), nfs.params())                           # other shapes, other NFs
    assert not (project / ".work").exists() or not any((project / ".work").rglob("*.safetensors"))
    fit = json.loads((project / f"metrics/fit_partial_{D}.json").read_text())
    assert fit["count"] == len(nfs) and "mean_iou" in fit
    assert "seconds" in json.loads((project / f"timings/fit_partial_{D}.json").read_text())

    metrics = json.loads((project / f"metrics/completion_{D}.json").read_text())
    rows = {s: len(nfs.split_rows(s)) for s in ("train", "val", "test")}
    assert (metrics["n_train"], metrics["n_val"], metrics["n_test"]) == (rows["train"], rows["val"], rows["test"])
    assert set(metrics["scores"]) == SETS
    for scores in metrics["scores"].values():
        assert set(scores) == {"chamfer", "fscore", "chamfer_std", "fscore_std"}
        assert scores["chamfer"] >= 0 and 0 <= scores["fscore"] <= 1
    assert 0 <= metrics["transfer"]["best_epoch"] < COMPLETION["transfer"]["epochs"]
    assert set(metrics["levels"]) == {"nf2vec_completion", "complete_embedding"}
    assert "seconds" not in metrics and "train_seconds" not in metrics                # wall times: timings/
    assert {"seconds", "train_seconds"} <= set(json.loads((project / f"timings/completion_{D}.json").read_text()))



def test_a_run_is_reproducible_and_the_complete_nfs_as_their_own_partials_transfer_exactly(project):
    encoder, decoder, _ = load_model(project / "models" / D / "best.safetensors")
    nfs, data = NeuralDataset(project / "data" / "neural" / D), PreparedData(project / "data" / "prepared" / D)
    p = load_section({"completion": COMPLETION}, "completion", CompletionParams)
    emb = encode(encoder, nfs.spec, nfs.params())
    runs = [complete_shapes(encoder, decoder, nfs, nfs, data, data, p, emb, progress=False) for _ in range(2)]
    a, b = (split_timings(r.summary)[0] for r in runs)
    assert a == b and runs[0].names == runs[1].names
    assert all(torch.equal(runs[0].clouds[k], runs[1].clouds[k]) for k in runs[0].clouds)
    assert a["transfer"]["test_relative_l2_partial"] == 0.0
    assert runs[0].clouds["ground_truth"].shape == (a["n_test"], 256, 3)
    assert all(runs[0].clouds[k].shape == (a["n_test"], COMPLETION["n_points"], 3) for k in SETS)
    with pytest.raises(BadInputError, match="one .*embedding per item"):
        complete_shapes(encoder, decoder, nfs, nfs, data, data, p, emb[:-1], progress=False)


def test_partial_nfs_of_another_init_or_other_items_are_refused(project, tmp_path):
    nfs = NeuralDataset(project / "data" / "neural" / D)
    prepared = project / "data" / "prepared" / D
    fit_dataset(prepared, tmp_path / "init1", NFParams(**NF), FitParams(**{**FIT, "init_seed": 1}))
    with pytest.raises(BadInputError, match="another init"):
        check_pairs(nfs, NeuralDataset(tmp_path / "init1"))
    fit_dataset(prepared, tmp_path / "fewer", NFParams(**NF), FitParams(**FIT), rows=[0, 1])
    with pytest.raises(BadInputError, match="other items"):
        check_pairs(nfs, NeuralDataset(tmp_path / "fewer"))

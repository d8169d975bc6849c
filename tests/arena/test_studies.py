"""Arena run table, shared-vs-random table, leaderboard and its markdown, from synthetic metrics."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nf2vec_core.arena.studies import (ArenaRun, collect_runs, init_comparison, leaderboard, leaderboard_markdown,
                                       runs_from_params)
from nf2vec_core.errors import ConfigError
from nf2vec_core.fitting.run import NFParams

NFS = {"siren": NFParams(family="siren", hidden=32, depth=2), "mfn": NFParams(family="mfn", hidden=16, depth=2)}
ARENA = {"datasets": {"mnist": {}, "digits": {}}, "nfs": NFS, "runs": {
    "m-s-sh": {"dataset": "mnist", "nf": "siren", "init": "shared", "steps": 100, "models": "gnn,mlp"},
    "m-s-rd": {"dataset": "mnist", "nf": "siren", "init": "random", "steps": 100, "models": "gnn,mlp"},
    "m-s-sh3": {"dataset": "mnist", "nf": "siren", "init": "shared", "steps": 300, "models": "mlp"},
    "m-s-rd3": {"dataset": "mnist", "nf": "siren", "init": "random", "steps": 300, "models": "mlp"},
    "d-m-sh": {"dataset": "digits", "nf": "mfn", "init": "shared", "steps": 50, "models": "mlp"},
}}
ACC = {"m-s-sh": (0.95, 0.96), "m-s-rd": (0.40, 0.30), "m-s-sh3": (None, 0.90), "m-s-rd3": (None, 0.20),
       "d-m-sh": (None, 0.80)}
# validation accuracies: they, not the test ones, choose the classifier of a run and the steps of a
# leaderboard row (m-s-sh: the GNN wins on validation, the MLP on test; mnist/siren/shared/mlp: 300
# steps win on validation, 100 on test)
VAL = {"m-s-sh": (0.97, 0.93), "m-s-rd": (0.41, 0.31), "m-s-sh3": (None, 0.95), "m-s-rd3": (None, 0.21),
       "d-m-sh": (None, 0.82)}


@pytest.fixture()
def metrics_dir(tmp_path):
    for name, (gnn, mlp) in ACC.items():
        vgnn, vmlp = VAL[name]
        (tmp_path / f"fit_{name}.json").write_text(json.dumps(
            {"count": 10, "mean_psnr": 30.0, "mean_psnr_offgrid": 20.0, "mean_psnr_ratio": 0.66, "seconds": 3.0,
             "nf_steps_per_s": 100.0}))
        ws = {"weights_kmeans_nmi": 0.5, "param_distance": {"median": 1.0}, "n_train": 7, "n_test": 2,
              "mlp": {"accuracy": mlp, "best_val_accuracy": vmlp, "train_seconds": 1.0}}
        if gnn is not None:
            ws["gnn"] = {"accuracy": gnn, "best_val_accuracy": vgnn, "train_seconds": 2.0}
        (tmp_path / f"weightspace_{name}.json").write_text(json.dumps(ws))
    return tmp_path


def test_runs_from_params_checks_names():
    runs = runs_from_params(ARENA)
    assert [r.name for r in runs] == list(ARENA["runs"]) and runs[0].models == ("gnn", "mlp")
    bad = {**ARENA, "runs": {"x": {**ARENA["runs"]["m-s-sh"], "nf": "rff"}}}
    with pytest.raises(ConfigError, match="arena.runs.x.nf"):
        runs_from_params(bad)
    with pytest.raises(ConfigError, match="missing"):
        ArenaRun.from_params("y", {"dataset": "mnist"})
    with pytest.raises(ConfigError, match="models"):
        ArenaRun.from_params("z", {**ARENA["runs"]["m-s-sh"], "models": "cnn"})


def test_collect_init_and_leaderboard(metrics_dir):
    table = collect_runs(runs_from_params(ARENA), NFS, metrics_dir)
    assert len(table) == 5
    assert table.set_index("run").loc["m-s-sh", "best_accuracy"] == pytest.approx(0.95)   # the GNN: best on val
    assert table.set_index("run").loc["m-s-sh", "best_classifier"] == "gnn"
    assert np.isnan(table.set_index("run").loc["d-m-sh", "gnn_accuracy"])
    from nf2vec_core.arena.studies import best_on_validation
    assert best_on_validation(table) == {"mnist": pytest.approx(0.95), "digits": pytest.approx(0.80)}
    init = init_comparison(table)
    assert len(init) == 1                                   # digits/mfn has no random counterpart
    row = init.iloc[0]
    assert row.shared_mean == pytest.approx((0.95 + 0.90) / 2) and row.random_mean == pytest.approx((0.40 + 0.20) / 2)
    assert row.gain_percent == pytest.approx(100 * (0.925 - 0.30) / 0.30)
    assert row.paper_shared == 0.72
    lb = leaderboard(table)
    assert lb.groupby("dataset")["val_accuracy"].apply(lambda v: v.is_monotonic_decreasing).all()  # ranked on val
    top = lb[lb.dataset == "mnist"].iloc[0]
    assert (top.classifier, top.init, top.accuracy, top.run) == ("gnn", "shared", 0.95, "m-s-sh")
    mlp = lb[(lb.dataset == "mnist") & (lb.classifier == "mlp") & (lb.init == "shared")].iloc[0]
    assert (mlp.steps, mlp.accuracy) == (300, 0.90)          # 300 steps: best on validation, not on test
    # steps chosen on validation: one row per dataset x classifier x init x nf
    assert not lb.duplicated(["dataset", "classifier", "init", "nf"]).any()
    md = leaderboard_markdown(lb, init, "test cpu", {"same_init_barrier": 0.01})
    assert "96.40" in md and "| mnist | mlp | shared | siren | 300 | 0.95 | 0.9 |" in md and "same_init_barrier" in md


def test_collect_runs_missing_metrics(tmp_path):
    with pytest.raises(ConfigError, match="metrics missing"):
        collect_runs(runs_from_params(ARENA), NFS, tmp_path)


def _write_pipeline_metrics(root, dataset="shapes"):
    (root / f"fit_{dataset}.json").write_text(json.dumps({"count": 8, "mean_iou": 0.88}))
    (root / f"weightspace_{dataset}.json").write_text(json.dumps(
        {"gnn": {"accuracy": 0.70}, "mlp": {"accuracy": 0.90}, "n_train": 6, "n_test": 2}))
    (root / f"classify_{dataset}.json").write_text(json.dumps({"accuracy": 0.80, "n_train": 6, "n_test": 2}))


def test_pipeline_rows_put_nf2vec_beside_the_weight_space_classifiers(tmp_path):
    from nf2vec_core.arena.studies import PAPER_TABLE3, pipeline_rows
    _write_pipeline_metrics(tmp_path)
    rows = pipeline_rows("shapes", NFParams(family="siren", depth=3, hidden=32), tmp_path)
    assert rows["classifier"].tolist() == ["nf2vec", "gnn", "mlp"]          # fixed order, not ranked on test
    assert rows["accuracy"].tolist() == [0.80, 0.70, 0.90]
    assert set(rows["nf"]) == {"siren3x32"} and rows["iou"].iloc[0] == 0.88
    md = leaderboard_markdown(rows.iloc[:0], rows.iloc[:0], "cpu", None, rows)
    assert "Neural ShapeNet-10" in md and PAPER_TABLE3["dws"] in md and "| nf2vec |" in md


def test_pipeline_rows_name_the_missing_metrics(tmp_path):
    from nf2vec_core.arena.studies import pipeline_rows
    (tmp_path / "fit_shapes.json").write_text("{}")
    with pytest.raises(ConfigError, match="shapes"):
        pipeline_rows("shapes", NFParams(), tmp_path)


def test_load_arena_reads_the_shipped_run_table():
    from nf2vec_core.arena.studies import load_arena
    from nf2vec_core.config import read_params
    p = read_params(Path(__file__).resolve().parents[2] / "params.yaml")
    arena = load_arena(p)
    assert [r.name for r in arena.runs] == list(p["arena"]["runs"])
    assert arena.nfs["siren"] == NFParams(family="siren", hidden=32, depth=2, w0=30.0, w0_first=30.0)
    bad = {**p, "arena": {**p["arena"], "nfs": {**p["arena"]["nfs"], "siren": {"family": "siren", "hiden": 3}}}}
    with pytest.raises(ConfigError, match="arena.nfs.siren.hiden"):
        load_arena(bad)


def test_leaderboard_ranks_on_validation_not_test():
    def run(name, init, val, test):
        return {"dataset": "mnist", "init": init, "nf": "siren", "steps": 100, "psnr": 30.0, "run": name,
                "fit_seconds": 1.0, "gnn_accuracy": np.nan, "gnn_val_accuracy": np.nan, "gnn_train_seconds": np.nan,
                "mlp_accuracy": test, "mlp_val_accuracy": val, "mlp_train_seconds": 1.0}
    table = pd.DataFrame([run("a", "random", 0.60, 0.90), run("b", "shared", 0.80, 0.70)])
    lb = leaderboard(table)
    assert lb["run"].tolist() == ["b", "a"]       # b is better on validation, a on test

"""The PointNet baseline over seeds: one run per seed, mean ± std, validation-selected epochs."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nf2vec_core.tasks.pointnet import PointNetConfig
from nf2vec_core.tasks.pointnet_benchmark import pointnet_benchmark

from test_pointnet import spheres_and_cubes  # pytest puts tests/tasks on sys.path


def _splits():
    parts = {"train": spheres_and_cubes(24, 128, 0), "val": spheres_and_cubes(8, 128, 1),
             "test": spheres_and_cubes(16, 128, 2)}
    return ({s: torch.as_tensor(x) for s, (x, _) in parts.items()},
            {s: torch.as_tensor(y) for s, (_, y) in parts.items()})


def test_benchmark_learns_and_reports_each_seed():
    points, labels = _splits()
    cfg = PointNetConfig(lr=3e-3, epochs=6, batch_size=8)
    rec = pointnet_benchmark(points, labels, cfg, seeds=[0, 3], class_names=["sphere", "cube"],
                             device="cpu", progress=False)
    per_seed = rec["pointnet_accuracy_per_seed"]
    assert rec["seeds"] == [0, 3] and len(per_seed) == 2
    assert rec["pointnet_accuracy"] == pytest.approx(np.mean(per_seed))
    assert rec["pointnet_accuracy_std"] == pytest.approx(np.std(per_seed))
    assert rec["pointnet_accuracy"] >= 0.9                    # spheres vs cubes is easy
    assert len(rec["val_accuracy_per_epoch"]) == 6
    assert rec["history"]["val_accuracy"] == rec["val_accuracy_per_epoch"]
    assert set(rec["history"]) == {"train_loss", "val_loss", "val_accuracy"}
    assert all(len(v) == 6 for v in rec["history"].values())
    assert rec["history"]["train_loss"][-1] < rec["history"]["train_loss"][0]   # it learns
    assert all(0 <= b < 6 for b in rec["best_epoch_per_seed"])
    assert set(rec["per_class_accuracy"]) == {"sphere", "cube"}
    assert (rec["n_train"], rec["n_val"], rec["n_test"]) == (48, 16, 32)


@pytest.mark.filterwarnings("ignore:pointnet")
def test_benchmark_seed_runs_repeat():
    points, labels = _splits()
    cfg = PointNetConfig(lr=3e-3, epochs=1, batch_size=8)
    a = pointnet_benchmark(points, labels, cfg, [0, 1], ["sphere", "cube"], device="cpu", progress=False)
    b = pointnet_benchmark(points, labels, cfg, [0], ["sphere", "cube"], device="cpu", progress=False)
    assert a["pointnet_accuracy_per_seed"][0] == b["pointnet_accuracy_per_seed"][0]


def test_benchmark_warns_when_the_last_epoch_is_best():
    points, labels = _splits()
    cfg = PointNetConfig(lr=3e-3, epochs=1, batch_size=8)
    with pytest.warns(UserWarning, match="pointnet.epochs may be too short"):
        pointnet_benchmark(points, labels, cfg, [0], ["sphere", "cube"], device="cpu", progress=False)

"""The shared training / evaluation loop of the weight-space classifiers."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.nf.init import init_vector
from nf2vec_core.nf.layout import ArchSpec
from nf2vec_core.weightspace.gnn import GNNConfig
from nf2vec_core.weightspace.mlp import FlatMLPConfig
from nf2vec_core.weightspace.train import (TrainConfig, build_classifier, evaluate_weight_classifier,
                                           fit_and_evaluate, train_weight_classifier)

SPEC = ArchSpec("siren", in_dim=2, out_dim=1, hidden=8, depth=2)
TINY_GNN = GNNConfig(hidden=8, steps=1, node_mlp_hidden=16, edge_mlp_hidden=16, readout_hidden=16)
TINY_MLP = FlatMLPConfig(hidden=(16,), dropout=0.0)


def blobs(n: int, seed: int, num_classes: int = 3, spread: float = 0.05) -> tuple[torch.Tensor, torch.Tensor]:
    """Shared-init-like vectors: one base vector, a class-dependent shift, small noise."""
    gen = torch.Generator().manual_seed(seed)
    base = init_vector(SPEC, 0)
    shifts = torch.randn(num_classes, SPEC.num_params, generator=torch.Generator().manual_seed(99)) * 0.2
    y = torch.arange(n) % num_classes
    return base + shifts[y] + spread * torch.randn(n, SPEC.num_params, generator=gen), y


@pytest.mark.parametrize("kind", ["mlp", "gnn"])
def test_training_is_deterministic_and_restores_the_best_epoch(kind):
    (xt, yt), (xv, yv) = blobs(30, 0), blobs(12, 1, spread=0.5)
    cfg = TrainConfig(lr=3e-3, epochs=4, batch_size=8, seed=5)
    runs = []
    for _ in range(2):
        model = build_classifier(kind, SPEC, 3, gnn=TINY_GNN, mlp=TINY_MLP, seed=1)
        runs.append(train_weight_classifier(model, xt, yt, xv, yv, cfg, device="cpu", progress=False))
    a, b = runs
    assert a.history == b.history
    for pa, pb in zip(a.model.state_dict().values(), b.model.state_dict().values()):
        assert torch.equal(pa, pb)
    assert set(a.history) == {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"}
    assert all(len(v) == cfg.epochs for v in a.history.values())
    accs, losses = a.history["val_accuracy"], a.history["val_loss"]
    assert a.best_val_accuracy == max(accs)
    best = min((e for e in range(cfg.epochs) if accs[e] == max(accs)), key=lambda e: (losses[e], e))
    assert a.best_epoch == best
    got = evaluate_weight_classifier(a.model, xv, yv)
    assert got["accuracy"] == pytest.approx(accs[best])
    assert not a.model.training


def test_schedules():
    xt, yt = blobs(16, 0)
    for schedule in ("onecycle", "cosine"):
        cfg = TrainConfig(lr=1e-2, epochs=3, batch_size=4, schedule=schedule)
        model = build_classifier("mlp", SPEC, 3, mlp=TINY_MLP)
        lrs = train_weight_classifier(model, xt, yt, xt, yt, cfg, device="cpu", progress=False).history["lr"]
        assert lrs[-1] < 0.02 * 1e-2                            # both anneal to ~0
        if schedule == "cosine":                                # last batches: steps 3, 7, 11 of 12
            assert lrs[0] == pytest.approx(1e-2 * 0.5 * (1 + math.cos(math.pi * 3 / 12)))
        else:                                                   # peak at 30% of the steps (step 3.3)
            assert max(lrs) == lrs[0] and lrs[0] > 0.9e-2


def test_fit_and_evaluate_reports_metrics_on_the_test_split():
    (xt, yt), (xv, yv), (xs, ys) = blobs(45, 0), blobs(15, 1), blobs(30, 2)
    run = fit_and_evaluate(build_classifier("mlp", SPEC, 3, mlp=TINY_MLP), (xt, yt), (xv, yv), (xs, ys),
                           TrainConfig(lr=1e-2, epochs=8, batch_size=8), class_names=["a", "b", "c"],
                           device="cpu", progress=False)
    assert run.accuracy > 0.9
    assert set(run.per_class_accuracy) == {"a", "b", "c"}
    assert run.confusion.shape == (3, 3) and run.confusion.sum() == 30
    assert run.predictions.shape == (30,) and run.predictions.dtype == np.int64
    assert set(run.metrics()) == {"accuracy", "per_class_accuracy", "best_epoch", "best_val_accuracy"}


def test_any_module_with_num_classes_trains():
    class Linear(nn.Module):
        num_classes = 3

        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(SPEC.num_params, 3)

        def forward(self, theta: torch.Tensor) -> torch.Tensor:
            return self.lin(theta)

    xt, yt = blobs(24, 0)
    res = train_weight_classifier(Linear(), xt, yt, xt, yt, TrainConfig(epochs=2, batch_size=8),
                                  device="cpu", progress=False)
    assert len(res.history["val_accuracy"]) == 2


def test_errors_name_the_problem():
    xt, yt = blobs(12, 0)
    model = build_classifier("mlp", SPEC, 3, mlp=TINY_MLP)
    cfg = TrainConfig(epochs=1)
    with pytest.raises(BadInputError, match="train_y"):
        train_weight_classifier(model, xt, yt + 5, xt, yt, cfg, device="cpu", progress=False)
    with pytest.raises(BadInputError, match="val_theta"):
        train_weight_classifier(model, xt, yt, xt[:, :-1], yt, cfg, device="cpu", progress=False)
    bad = xt.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(BadInputError, match="NaN"):
        train_weight_classifier(model, bad, yt, xt, yt, cfg, device="cpu", progress=False)
    with pytest.raises(ConfigError, match="weightspace.train.epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ConfigError, match="weightspace.train.schedule"):
        TrainConfig(schedule="step")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown classifier"):
        build_classifier("transformer", SPEC, 3)

"""Embedding classifier, E-Stitchup and classification metrics."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.store.treefile import save_tree
from nf2vec_core.tasks.classification import (ClassifierConfig, EmbeddingClassifier, classification_metrics,
                                              e_stitchup, evaluate_classifier, load_classifier, predict_logits,
                                              save_classifier, soft_cross_entropy, train_classifier)

C, D = 5, 64


def blobs(n_per_class: int, seed: int, spread: float = 1.0):
    rng = np.random.default_rng(seed)
    centers = np.random.default_rng(123).normal(size=(C, D)) * 2.0
    y = np.repeat(np.arange(C), n_per_class)
    x = centers[y] + spread * rng.normal(size=(y.size, D))
    return x.astype(np.float32), y


FAST = ClassifierConfig(hidden=(64, 32), dropout=0.2, lr=5e-3, weight_decay=1e-2, epochs=12,
                        batch_size=32, stitchup=True, seed=0)


def test_classifier_learns_separable_blobs():
    xtr, ytr = blobs(40, 0)
    xva, yva = blobs(10, 1)
    xte, yte = blobs(20, 2)
    model, hist = train_classifier(xtr, ytr, xva, yva, FAST, C, device="cpu", progress=False)
    assert set(hist) == {"train_loss", "val_loss", "val_accuracy", "lr"}
    assert len(hist["val_accuracy"]) == FAST.epochs
    res = evaluate_classifier(model, xte, yte, C, class_names=[f"c{i}" for i in range(C)])
    assert res["accuracy"] > 0.9
    assert res["confusion"].shape == (C, C) and res["confusion"].dtype == np.int64
    assert res["confusion"].sum() == yte.size
    assert set(res["per_class_accuracy"]) == {f"c{i}" for i in range(C)}
    # returned weights are the best-val ones
    assert evaluate_classifier(model, xva, yva, C)["accuracy"] == pytest.approx(max(hist["val_accuracy"]))


@pytest.mark.parametrize("select", ["val_loss", "last"])
def test_select_rule_picks_the_epoch(select):
    xtr, ytr = blobs(20, 0)
    xva, yva = blobs(5, 1, spread=3.0)  # noisy validation: the best epoch is not the last one
    cfg = ClassifierConfig(hidden=(32,), dropout=0.2, lr=5e-3, epochs=8, batch_size=32, select=select)
    model, hist = train_classifier(xtr, ytr, xva, yva, cfg, C, device="cpu", progress=False)
    kept_loss = torch.nn.functional.cross_entropy(predict_logits(model, torch.as_tensor(xva)),
                                                  torch.as_tensor(yva)).item()
    want = min(hist["val_loss"]) if select == "val_loss" else hist["val_loss"][-1]
    assert kept_loss == pytest.approx(want, rel=1e-5)
    with pytest.raises(ConfigError):
        ClassifierConfig(select="best")


def test_classifier_near_chance_on_random_labels():
    rng = np.random.default_rng(5)
    xtr = rng.normal(size=(200, D)).astype(np.float32)
    xva = rng.normal(size=(50, D)).astype(np.float32)
    xte = rng.normal(size=(300, D)).astype(np.float32)
    ytr, yva, yte = (rng.integers(0, C, size=n) for n in (200, 50, 300))
    model, _ = train_classifier(xtr, ytr, xva, yva, FAST, C, device="cpu", progress=False)
    assert evaluate_classifier(model, xte, yte, C)["accuracy"] < 0.35  # chance = 0.2


def test_training_is_deterministic():
    xtr, ytr = blobs(10, 0)
    cfg = ClassifierConfig(hidden=(16,), epochs=2, batch_size=16, seed=3)
    m1, h1 = train_classifier(xtr, ytr, xtr, ytr, cfg, C, device="cpu", progress=False)
    m2, h2 = train_classifier(xtr, ytr, xtr, ytr, cfg, C, device="cpu", progress=False)
    assert h1 == h2
    for a, b in zip(m1.state_dict().values(), m2.state_dict().values()):
        assert torch.equal(a, b)


def test_e_stitchup_mixes_coordinates_and_labels():
    b, d = 16, 200
    x = torch.arange(b, dtype=torch.float32)[:, None].expand(b, d).clone()   # row i is all i
    y = torch.eye(b)                                                          # class i for row i
    xm, ym = e_stitchup(x, y, np.random.default_rng(0), alpha=1.0)
    assert xm.shape == x.shape and ym.shape == y.shape
    torch.testing.assert_close(ym.sum(1), torch.ones(b))
    mixed_any = False
    for i in range(b):
        vals = sorted({int(v) for v in xm[i].tolist()})
        assert i in vals or float(ym[i, i]) == 0.0
        partners = [v for v in vals if v != i]
        assert len(partners) <= 1                         # stitched from row i and ONE partner
        frac_self = float((xm[i] == i).float().mean())
        if partners:
            j = partners[0]
            mixed_any = True
            assert float(ym[i, i]) == pytest.approx(frac_self)       # label weight = fraction taken
            assert float(ym[i, j]) == pytest.approx(1 - frac_self)
            assert np.count_nonzero(ym[i].numpy()) == (2 if frac_self > 0 else 1)
        else:
            assert float(ym[i].sum()) == pytest.approx(1.0) and np.count_nonzero(ym[i].numpy()) == 1
    assert mixed_any
    xm2, ym2 = e_stitchup(x, y, np.random.default_rng(0), alpha=1.0)
    assert torch.equal(xm, xm2) and torch.equal(ym, ym2)


def test_e_stitchup_rejects_bad_shapes():
    with pytest.raises(BadInputError):
        e_stitchup(torch.zeros(4, 3), torch.zeros(5, 2), np.random.default_rng(0))


def test_soft_cross_entropy_matches_hard_ce():
    logits = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 3, 0, 1])
    torch.testing.assert_close(soft_cross_entropy(logits, torch.eye(4)[y]),
                               torch.nn.functional.cross_entropy(logits, y))


def test_model_structure_and_config_validation():
    m = EmbeddingClassifier(32, 3, hidden=(16, 8), dropout=0.5)
    kinds = [type(l).__name__ for l in m.net]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Dropout"] * 2 + ["Linear"]
    assert m(torch.zeros(4, 32)).shape == (4, 3)
    with pytest.raises(ConfigError):
        ClassifierConfig(dropout=1.5)
    with pytest.raises(ConfigError):
        ClassifierConfig.from_dict({"nope": 1})
    assert ClassifierConfig.from_dict(FAST.to_dict()) == FAST


def test_classification_metrics_and_label_checks():
    res = classification_metrics(np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2]), 4)
    assert res["accuracy"] == pytest.approx(0.75)
    assert res["confusion"][2, 1] == 1 and res["confusion"][2, 2] == 1
    assert res["per_class_accuracy"]["2"] == pytest.approx(0.5)
    assert res["per_class_accuracy"]["3"] is None                     # no examples: null in the JSON, not NaN
    xtr, ytr = blobs(4, 0)
    with pytest.raises(BadInputError):
        train_classifier(xtr, ytr + 10, xtr, ytr, FAST, C, device="cpu", progress=False)


def test_with_views_appends_the_other_fits_and_checks_their_width():
    from nf2vec_core.errors import BadInputError
    from nf2vec_core.tasks.classification import with_views

    x, y = torch.randn(4, 3), torch.tensor([0, 1, 0, 1])
    vx, vy = torch.randn(2, 3), torch.tensor([1, 1])
    ax, ay = with_views(x, y, vx, vy)
    assert torch.equal(ax, torch.cat([x, vx])) and ay.tolist() == [0, 1, 0, 1, 1, 1]
    bx, by = with_views(x.numpy(), y.numpy(), torch.empty(0), torch.empty(0, dtype=torch.long))
    assert torch.equal(bx, x) and torch.equal(by, y)
    with pytest.raises(BadInputError, match="view embeddings are \\(5,\\)-d"):
        with_views(x, y, torch.randn(2, 5), vy)


def test_saved_classifier_loads_with_its_classes_and_predicts_the_same(tmp_path):
    torch.manual_seed(0)
    cfg = ClassifierConfig(hidden=(8,), dropout=0.3)
    model = EmbeddingClassifier(5, 3, cfg.hidden, cfg.dropout).eval()
    save_classifier(tmp_path / "m" / "classifier.safetensors", model, cfg, ["a", "b", "c"])
    loaded, classes = load_classifier(tmp_path / "m" / "classifier.safetensors")
    x = torch.randn(4, 5)
    assert classes == ["a", "b", "c"] and not loaded.training
    assert torch.equal(loaded(x), model(x))
    with pytest.raises(BadInputError, match="not found"):
        load_classifier(tmp_path / "none.pt")
    save_tree(tmp_path / "other.safetensors", {"weights": torch.ones(1)})
    with pytest.raises(BadInputError, match="missing"):
        load_classifier(tmp_path / "other.safetensors")
    torch.save({"weights": 1}, tmp_path / "pickled.pt")
    with pytest.raises(BadInputError, match="pickled"):
        load_classifier(tmp_path / "pickled.pt")

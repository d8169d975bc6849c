"""Raw-weight classifiers over seeds: one training per seed, mean ± std, the first seed's run kept."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from test_weightspace_train import SPEC, TINY_MLP, blobs  # pytest puts tests/weightspace on sys.path

from nf2vec_core.errors import BadInputError
from nf2vec_core.nf.layout import ArchSpec
from nf2vec_core.store.neural_dataset import NeuralDataset, finalize, write_header, write_shard
from nf2vec_core.weightspace.benchmark import classify_over_seeds, weight_splits
from nf2vec_core.weightspace.params import WeightspaceParams
from nf2vec_core.weightspace.train import TrainConfig, build_classifier, fit_and_evaluate

NAMES = ["a", "b", "c"]


def _data():
    return {"train": blobs(60, 0), "val": blobs(15, 1), "test": blobs(30, 2)}


def test_one_run_per_seed_and_the_first_is_kept():
    cfg = WeightspaceParams(models=("mlp",), mlp=TINY_MLP, train=TrainConfig(epochs=4, batch_size=16),
                            seeds=(3, 5))
    data = _data()
    rec, first = classify_over_seeds("mlp", SPEC, data, cfg, NAMES, device="cpu", progress=False)
    assert rec["seeds"] == [3, 5] and len(rec["accuracy_per_seed"]) == 2 and len(rec["best_epoch_per_seed"]) == 2
    assert rec["accuracy"] == pytest.approx(np.mean(rec["accuracy_per_seed"]))
    assert rec["accuracy_std"] == pytest.approx(np.std(rec["accuracy_per_seed"]))
    assert rec["accuracy"] > 0.9                                   # separable blobs
    assert set(rec["per_class_accuracy"]) == set(NAMES)
    # the kept run is seed 3's: the same as training seed 3 alone
    alone = fit_and_evaluate(build_classifier("mlp", SPEC, 3, mlp=TINY_MLP, seed=3), data["train"], data["val"],
                             data["test"], TrainConfig(epochs=4, batch_size=16, seed=3), class_names=NAMES,
                             device="cpu", progress=False)
    assert first.accuracy == alone.accuracy == rec["accuracy_per_seed"][0]
    np.testing.assert_array_equal(first.predictions, alone.predictions)


def test_no_seeds_means_one_run_with_the_train_seed():
    cfg = WeightspaceParams(models=("mlp",), mlp=TINY_MLP, train=TrainConfig(epochs=2, batch_size=16, seed=4))
    rec, _ = classify_over_seeds("mlp", SPEC, _data(), cfg, NAMES, device="cpu", progress=False)
    assert rec["seeds"] == [4] and rec["accuracy_std"] == 0.0


def _neural(root, theta, class_ids, splits, spec=SPEC):
    rows = pd.DataFrame({"id": [f"i{k}" for k in range(len(class_ids))], "source": "", "class_name": "c",
                         "class_id": class_ids, "split": splits})
    write_header(root, spec, theta[0], {})
    write_shard(root, 0, theta, rows)
    finalize(root, 1)
    return NeuralDataset(root)


def test_weight_splits_add_the_views_to_train_and_val_only(tmp_path):
    splits = ["train", "train", "val", "test"]
    main = _neural(tmp_path / "main", torch.zeros(4, SPEC.num_params), [0, 1, 0, 1], splits)
    view = _neural(tmp_path / "view1", torch.ones(4, SPEC.num_params), [0, 1, 0, 1], splits)
    data = weight_splits(main, [view])
    assert [len(data[s][1]) for s in ("train", "val", "test")] == [4, 2, 1]
    assert data["train"][1].tolist() == [0, 1, 0, 1]
    assert data["train"][0][:2].eq(0).all() and data["train"][0][2:].eq(1).all()   # own fits first
    assert data["test"][0].eq(0).all()
    assert [len(v[1]) for v in weight_splits(main).values()] == [2, 1, 1]
    other = ArchSpec("siren", in_dim=2, out_dim=1, hidden=4, depth=2)
    bad = _neural(tmp_path / "bad", torch.ones(4, other.num_params), [0, 1, 0, 1], splits, spec=other)
    with pytest.raises(BadInputError, match="view NFs"):
        weight_splits(main, [bad])

"""The part-segmentation benchmark: both models per seed, the mean ± std record, the category table."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nf2vec_core.data.parts import PartTaxonomy
from nf2vec_core.tasks.part_benchmark import (MODELS, benchmark_record, per_category_frame, run_benchmark,
                                              run_seed, selected_epoch, without_embeddings)
from nf2vec_core.tasks.part_data import PartSegParams
from nf2vec_core.tasks.pointnet_seg import PointNetSegConfig
from nf2vec_core.tasks.segmentation import PartDecoderConfig, PartSplit

TAX = PartTaxonomy(("mug", "lamp"), (2, 2))       # mug: parts 0, 1; lamp: parts 2, 3


def _split(n: int, seed: int) -> PartSplit:
    """Shapes whose part is the sign of z (the upper half is the second part of the category)."""
    g = torch.Generator().manual_seed(seed)
    pts = torch.rand(n, 64, 3, generator=g) * 2 - 1
    cls = torch.arange(n) % 2
    labels = 2 * cls[:, None] + (pts[..., 2] > 0).long()
    return PartSplit(pts, labels, cls, torch.randn(n, 4, generator=g))


def _params(epochs: int = 6) -> PartSegParams:
    return PartSegParams(points=64, decoder=PartDecoderConfig(hidden=32, layers=2, pe_freqs=2, points_per_shape=32,
                                                               epochs=epochs, batch_size=8, lr=3e-3),
                         pointnet=PointNetSegConfig(epochs=2, batch_size=8))


@pytest.fixture(scope="module")
def bench():
    splits = {"train": _split(32, 0), "val": _split(8, 1), "test": _split(8, 2)}
    runs = run_benchmark(splits, TAX, _params(), [0, 1], progress=False)
    return splits, runs, benchmark_record(runs, [0, 1], _params())


def test_record_is_mean_and_std_over_seeds(bench):
    _, runs, rec = bench
    assert rec["seeds"] == [0, 1] and set(MODELS) <= set(rec)
    for m in MODELS:
        per_seed = [r[m]["scores"]["instance_miou"] for r in runs]
        assert rec[m]["instance_miou_per_seed"] == pytest.approx(per_seed)
        assert rec[m]["instance_miou"] == pytest.approx(np.mean(per_seed))
        assert rec[m]["instance_miou_std"] == pytest.approx(np.std(per_seed))
        assert set(rec[m]["per_category"]) == {"mug", "lamp"} and rec[m]["shapes"] == 8
        assert rec[m]["train_seconds"] > 0 and len(rec[m]["selected_epoch_per_seed"]) == 2
    assert runs[0]["nf2vec"]["scores"]["predictions"].shape == (8, 64)


def test_part_decoder_learns_an_easy_part_rule(bench):
    _, _, rec = bench
    assert rec["nf2vec"]["accuracy"] > 0.75     # chance is 0.5 (two parts per category)
    assert rec["class_prior"]["accuracy"] > 0.75   # the rule needs no embedding


def test_class_prior_sees_no_embedding():
    """Parts that only the embedding can tell (its sign flips which half is which part): the decoder
    on embeddings learns them, the class prior (zero embeddings) stays near chance."""
    def split(n, seed):
        g = torch.Generator().manual_seed(seed)
        pts = torch.rand(n, 64, 3, generator=g) * 2 - 1
        cls = torch.arange(n) % 2
        emb = torch.randn(n, 4, generator=g)
        flip = (emb[:, :1] > 0).long()
        return PartSplit(pts, 2 * cls[:, None] + ((pts[..., 2] > 0).long() ^ flip), cls, emb)
    splits = {"train": split(64, 0), "val": split(16, 1), "test": split(16, 2)}
    assert torch.count_nonzero(without_embeddings(splits["val"]).embeddings) == 0
    rec = benchmark_record([run_seed(splits, TAX, _params(epochs=15), 0, progress=False)], [0], _params(epochs=15))
    assert rec["nf2vec"]["accuracy"] > 0.75 and rec["class_prior"]["accuracy"] < 0.65


def test_seeds_differ_and_a_seed_repeats(bench):
    splits, runs, _ = bench
    assert runs[0]["nf2vec"]["history"]["train_loss"] != runs[1]["nf2vec"]["history"]["train_loss"]
    again = run_benchmark(splits, TAX, _params(), [1], progress=False)[0]
    assert again["nf2vec"]["history"] == runs[1]["nf2vec"]["history"]
    assert np.array_equal(again["pointnet"]["scores"]["predictions"], runs[1]["pointnet"]["scores"]["predictions"])


def test_selected_epoch_follows_the_rule():
    h = {"train_loss": [1.0, 0.9, 0.8], "val_instance_miou": [0.2, 0.5, 0.4], "val_class_miou": [0.6, 0.1, 0.1]}
    assert selected_epoch(h, "val_instance_miou") == 1
    assert selected_epoch(h, "val_class_miou") == 0
    assert selected_epoch(h, "last") == 2


def test_category_table(bench):
    _, _, rec = bench
    df = per_category_frame(rec)
    assert df["category"].tolist() == ["mug", "lamp", "class mIoU", "instance mIoU"]
    assert df.iloc[-1]["nf2vec_miou"] == pytest.approx(rec["nf2vec"]["instance_miou"])

"""Part segmentation: the embedding part decoder and the PointNet baseline on a learnable toy set."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nf2vec_core.data.parts import PartTaxonomy
from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.tasks.pointnet_seg import PointNetPartSegmenter, PointNetSegConfig, train_pointnet_seg
from nf2vec_core.tasks.segmentation import (PartDecoderConfig, evaluate_segmenter, load_part_decoder, part_split,
                                            predict_parts, save_part_decoder, subsample_points, train_part_decoder)

TAX = PartTaxonomy(("a", "b"), (2, 3))   # a: parts 0, 1; b: parts 2, 3, 4


def _toy(n: int, seed: int, points: int = 96):
    """Points in the cube; category a is cut by the plane x = t (t per shape, stored in the
    embedding), category b into three slabs along y. Embedding: [t, noise]."""
    rng = np.random.default_rng(seed)
    cls = np.arange(n) % 2
    pts = rng.uniform(-1, 1, (n, points, 3)).astype(np.float32)
    t = rng.uniform(-0.4, 0.4, n).astype(np.float32)
    lab_a = (pts[..., 0] > t[:, None]).astype(np.int64)
    lab_b = 2 + np.digitize(pts[..., 1], [-0.33, 0.33])
    labels = np.where(cls[:, None] == 0, lab_a, lab_b)
    emb = np.concatenate([t[:, None] * 3, rng.normal(size=(n, 3))], axis=1).astype(np.float32)
    return part_split(pts, labels, cls, TAX, emb, name=f"toy{seed}")


FAST_DECODER = PartDecoderConfig(hidden=64, layers=3, pe_freqs=0, skip=False, lr=3e-3, epochs=40, batch_size=8,
                                 points_per_shape=64, seed=0)
FAST_POINTNET = PointNetSegConfig(lr=3e-3, epochs=12, batch_size=4, jitter_sigma=0.0, seed=0)


def test_part_decoder_learns_a_plane_split_from_the_embedding():
    train, val, test = _toy(48, 0), _toy(12, 1), _toy(16, 2)
    model, hist = train_part_decoder(train, val, TAX, FAST_DECODER, device="cpu", progress=False)
    s = evaluate_segmenter(model, test, TAX)
    assert s["instance_miou"] > 0.9 and s["class_miou"] > 0.9
    assert set(np.unique(s["predictions"][test.class_ids.numpy() == 0])) <= {0, 1}
    assert len(hist["val_instance_miou"]) == FAST_DECODER.epochs
    # the embedding carries the plane: shuffled embeddings do worse on category a
    shuffled = part_split(test.points, test.labels, test.class_ids, TAX, test.embeddings.flip(0))
    assert evaluate_segmenter(model, shuffled, TAX)["per_category"]["a"]["miou"] < s["per_category"]["a"]["miou"] - 0.05


def test_part_decoder_is_deterministic_and_round_trips(tmp_path):
    train, val = _toy(16, 0), _toy(6, 1)
    cfg = PartDecoderConfig(hidden=16, layers=2, pe_freqs=2, lr=1e-2, epochs=3, batch_size=4, points_per_shape=32)
    m1, h1 = train_part_decoder(train, val, TAX, cfg, device="cpu", progress=False)
    m2, h2 = train_part_decoder(train, val, TAX, cfg, device="cpu", progress=False)
    assert h1 == h2
    save_part_decoder(tmp_path / "dec.safetensors", m1, cfg, TAX)
    m3, tax = load_part_decoder(tmp_path / "dec.safetensors")
    assert tax == TAX
    assert np.array_equal(evaluate_segmenter(m1, val, TAX)["predictions"], evaluate_segmenter(m3, val, TAX)["predictions"])
    with pytest.raises(BadInputError, match="not found"):
        load_part_decoder(tmp_path / "missing.safetensors")


def test_pointnet_seg_learns_fixed_planes():
    def fixed(n, seed):   # PointNet sees only points: the plane of category a is x = 0 for every shape
        s = _toy(n, seed, points=64)
        lab = torch.where(s.class_ids[:, None] == 0, (s.points[..., 0] > 0).long(), s.labels)
        return part_split(s.points, lab, s.class_ids, TAX)
    train, val, test = fixed(32, 0), fixed(12, 1), fixed(16, 2)
    model, hist = train_pointnet_seg(train, val, TAX, FAST_POINTNET, device="cpu", progress=False)
    s = evaluate_segmenter(model, test, TAX)
    assert s["instance_miou"] > 0.8 and s["class_miou"] > 0.8    # a constant guess scores below 0.3
    assert max(hist["val_instance_miou"]) == pytest.approx(evaluate_segmenter(model, val, TAX)["instance_miou"])
    out = PointNetPartSegmenter(2, 5)(torch.zeros(3, 7, 3), torch.tensor([0, 1, 1]))
    assert out.shape == (3, 7, 5)


def test_prediction_is_restricted_to_the_shapes_category():
    logits = torch.zeros(2, 3, 5)
    logits[..., 4] = 10.0          # part 4 (category b) wins everywhere unrestricted
    logits[..., 1] = 1.0
    pred = predict_parts(logits, torch.tensor([0, 1]), TAX)
    assert pred.tolist() == [[1, 1, 1], [4, 4, 4]]


def test_subsample_points_keeps_label_of_each_point():
    s = _toy(4, 0, points=50)
    b = subsample_points(20)(s, torch.Generator().manual_seed(0))
    assert b.points.shape == (4, 20, 3) and b.labels.shape == (4, 20)
    a = b.class_ids == 0
    assert torch.equal(b.labels[a], (b.points[a][..., 0] > b.embeddings[a][:, :1] / 3).long())
    assert subsample_points(0)(s, torch.Generator()) is s


def test_bad_inputs_and_configs():
    pts = np.zeros((2, 4, 3), np.float32)
    with pytest.raises(BadInputError, match=r"tr: shape 1 \(b\) has points labelled with parts of another category"):
        part_split(pts, np.array([[0, 1, 0, 1], [2, 1, 2, 2]]), np.array([0, 1]), TAX, name="tr")
    with pytest.raises(BadInputError, match="part labels must lie in"):
        part_split(pts, np.full((2, 4), 7), np.array([0, 1]), TAX)
    with pytest.raises(BadInputError, match="do not match"):
        part_split(pts, np.zeros((2, 3)), np.array([0, 1]), TAX)
    with pytest.raises(BadInputError, match="needs embeddings"):
        train_part_decoder(part_split(pts, np.zeros((2, 4)), np.array([0, 0]), TAX),
                           part_split(pts, np.zeros((2, 4)), np.array([0, 0]), TAX), TAX, FAST_DECODER)
    with pytest.raises(ConfigError, match="select"):
        PartDecoderConfig(select="val_accuracy")
    with pytest.raises(ConfigError, match="scale_low"):
        PointNetSegConfig(scale_low=2.0)

"""PointNet baseline: shapes, augmentation, a toy sphere-vs-cube task and the timing table."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.tasks.pointnet import (PointNetClassifier, PointNetConfig, augment_point_clouds,
                                        evaluate_pointnet, inference_timing, train_pointnet)


def spheres_and_cubes(n_per: int, n_points: int, seed: int):
    """Surface samples of unit spheres (class 0) and cubes (class 1), randomly scaled."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(n_per, n_points, 3))
    sph = v / np.linalg.norm(v, axis=-1, keepdims=True)
    cube = rng.uniform(-1, 1, size=(n_per, n_points, 3))
    face_axis = rng.integers(0, 3, size=(n_per, n_points))
    sign = rng.choice([-1.0, 1.0], size=(n_per, n_points))
    np.put_along_axis(cube, face_axis[..., None], sign[..., None], axis=-1)
    pts = np.concatenate([sph, cube]) * rng.uniform(0.7, 1.0, size=(2 * n_per, 1, 1))
    y = np.repeat([0, 1], n_per)
    return pts.astype(np.float32), y


def test_forward_shapes_any_point_count():
    for tnet in (False, True):
        m = PointNetClassifier(4, input_transform=tnet).eval()
        for p in (1, 17, 256):
            assert m(torch.randn(3, p, 3)).shape == (3, 4)
    with pytest.raises(BadInputError):
        m(torch.randn(2, 3, 10))


def test_input_tnet_starts_as_identity():
    m = PointNetClassifier(3, input_transform=True).eval()
    t = m.tnet(torch.randn(2, 3, 50))
    torch.testing.assert_close(t, torch.eye(3).expand(2, 3, 3))


def test_augmentation_bounds():
    pts = torch.ones(64, 100, 3)
    out = augment_point_clouds(pts, torch.Generator().manual_seed(0), jitter_sigma=0.01, jitter_clip=0.05)
    assert out.shape == pts.shape
    scale = out.mean(dim=1)                                  # ~ the per-axis scale factors
    assert (scale > 0.8 - 0.01).all() and (scale < 1.25 + 0.01).all()
    assert scale.std() > 0.05                                # anisotropic, per cloud
    noise = out - out.median(dim=1, keepdim=True).values
    assert noise.abs().max() <= 0.1 + 1e-6


def test_pointnet_learns_spheres_vs_cubes():
    xtr, ytr = spheres_and_cubes(24, 128, 0)
    xva, yva = spheres_and_cubes(8, 128, 1)
    xte, yte = spheres_and_cubes(16, 128, 2)
    cfg = PointNetConfig(lr=3e-3, epochs=10, batch_size=8, seed=0)
    model, hist = train_pointnet(xtr, ytr, xva, yva, cfg, device="cpu", progress=False)
    assert len(hist["val_accuracy"]) == 10
    res = evaluate_pointnet(model, xte, yte, 2, class_names=["sphere", "cube"])
    assert res["accuracy"] >= 0.9
    assert res["confusion"].sum() == 32 and set(res["per_class_accuracy"]) == {"sphere", "cube"}


def test_inference_timing_table():
    m = PointNetClassifier(3)
    emb_model = torch.nn.Linear(8, 3)
    calls: list[int] = []

    def sample_fn(n: int) -> np.ndarray:
        calls.append(n)
        return np.random.default_rng(n).uniform(-1, 1, size=(n, 3))

    df = inference_timing(lambda: emb_model(torch.zeros(1, 8)), m, point_counts=(16, 64), repeats=2,
                          device="cpu", sample_fn=sample_fn, warmup=1, progress=False)
    assert isinstance(df, pd.DataFrame)
    assert set(df["method"]) == {"nf2vec", "pointnet", "nf_sample+pointnet"}
    assert sorted(df["n_points"].unique().tolist()) == [16, 64]
    assert len(df) == 6 and (df["latency_ms"] > 0).all()
    assert sorted(set(calls)) == [16, 64] and len(calls) == 2 * 3   # (warmup + repeats) per count
    df2 = inference_timing(lambda: None, m, point_counts=(8,), repeats=1, device="cpu", progress=False)
    assert set(df2["method"]) == {"nf2vec", "pointnet"}


def test_config_validation():
    with pytest.raises(ConfigError):
        PointNetConfig(scale_low=2.0, scale_high=1.0)
    with pytest.raises(ConfigError):
        PointNetConfig.from_dict({"foo": 1})

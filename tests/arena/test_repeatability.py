"""Repeatability / mode connectivity / weight matching study on a few real 8x8 digits."""
from __future__ import annotations

import torch

from nf2vec_core.arena.repeatability import ConnectivityParams, connectivity_study, fit_replicas, within_between_ratio
from nf2vec_core.data.readers import load_sklearn_digits
from nf2vec_core.nf.layout import ArchSpec


def test_within_between_ratio_separates_clusters():
    pts = torch.tensor([[0.0], [0.1], [5.0], [5.1]])
    d = torch.cdist(pts, pts)
    assert within_between_ratio(d, signals=2, replicas=2) < 0.05


def test_same_init_replicas_connect_and_match_identity():
    images = torch.from_numpy(load_sklearn_digits()[0][:3])
    spec = ArchSpec("siren", in_dim=2, out_dim=1, hidden=16, depth=2, w0=30.0, w0_first=30.0)
    cfg = ConnectivityParams(signals=3, replicas=2, steps=60, lr=1e-3, points_per_step=32, curve_steps=5)
    fits = fit_replicas(spec, images, cfg)
    same, diff = fits["same init"], fits["different inits"]
    assert same.shape == diff.shape == (3, 2, spec.num_params)
    assert not torch.equal(same[:, 0], same[:, 1])          # the pixel sampling differs between replicas
    metrics, arrays = connectivity_study(spec, images, cfg)
    assert metrics["same_init_matching_identity_fraction"] > 0.9
    assert metrics["different_inits_matching_identity_fraction"] < 0.5
    assert metrics["same_init_barrier"] < metrics["different_inits_barrier"]
    assert metrics["same_init_within_between_ratio"] < metrics["different_inits_within_between_ratio"]
    assert set(arrays["matrices"]) == {"same init", "different inits"} and len(arrays["curves"]) == 4

"""Pairwise parameter distances, histograms and k-means NMI on raw NF weights."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from ws_digits import fit_digits

from nf2vec_core.errors import BadInputError
from nf2vec_core.nf.init import init_batch
from nf2vec_core.nf.layout import ArchSpec
from nf2vec_core.weightspace.distances import (distance_histogram, distance_summary, pairwise_distance_values,
                                               pairwise_distances, trainable_part, weights_kmeans_nmi)


def test_pairwise_distances_match_explicit_norms():
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(7, 20, generator=gen), torch.randn(4, 20, generator=gen)
    d = pairwise_distances(a, b, block=3)
    assert d.shape == (7, 4) and d.dtype == torch.float64
    assert d[5, 2] == pytest.approx(float((a[5].double() - b[2].double()).norm()))
    self_d = pairwise_distances(a)
    assert torch.all(self_d.diagonal() == 0) and torch.allclose(self_d, self_d.T)
    cos = pairwise_distances(a, b, metric="cosine")
    expect = 1 - torch.nn.functional.cosine_similarity(a[1].double(), b[3].double(), dim=0)
    assert cos[1, 3] == pytest.approx(float(expect))
    vals = pairwise_distance_values(a)
    assert vals.shape == (21,) and vals[0] == pytest.approx(float(self_d[0, 1]))


def test_frozen_fourier_matrix_is_left_out():
    spec = ArchSpec("rffnet", in_dim=2, out_dim=1, hidden=8, depth=2, rff_features=4)
    theta = init_batch(spec, 3, mode="random", seed=0)
    part = trainable_part(theta, spec)
    fourier = spec.tensor("fourier.weight")
    assert part.shape == (3, spec.num_params - fourier.numel)
    assert torch.equal(part, theta[:, fourier.stop:])
    moved = theta.clone()
    moved[:, fourier.offset:fourier.stop] += 5.0
    assert torch.equal(pairwise_distances(moved, spec=spec), pairwise_distances(theta, spec=spec))


def test_shared_init_nfs_are_closer_and_cluster_by_class(digit_nfs):
    """Papa et al. 2024 RQ1 / Zama Ramirez et al. 2024 §VIII: NFs fitted from one shared init stay close in parameter
    space and their raw weights cluster by class; independent random inits do neither."""
    idx = torch.cat([torch.nonzero(digit_nfs.y == c).flatten()[:15] for c in (0, 1)])
    shared, y = digit_nfs.theta[idx], digit_nfs.y[idx]
    random, _ = fit_digits(digit_nfs.images[idx], "random", seed=0)
    d_shared = pairwise_distance_values(shared, spec=digit_nfs.spec)
    d_random = pairwise_distance_values(random, spec=digit_nfs.spec)
    assert distance_summary(d_shared)["max"] < distance_summary(d_random)["min"]
    hist = distance_histogram({"shared": d_shared, "random": d_random}, bins=20)
    assert hist["edges"].shape == (21,)
    assert hist["shared"].sum() == d_shared.numel() == hist["random"].sum() == 435
    assert weights_kmeans_nmi(shared, y, spec=digit_nfs.spec) > 0.8
    assert weights_kmeans_nmi(random, y, spec=digit_nfs.spec) < 0.3


def test_summary_histogram_and_nmi_edge_cases():
    s = distance_summary(torch.tensor([1.0, 2.0, 3.0, 10.0]))
    assert s["mean"] == pytest.approx(4.0) and s["min"] == 1.0 and s["max"] == 10.0
    hist = distance_histogram({"a": torch.tensor([1.0, 1.0]), "b": torch.tensor([1.0])}, bins=4)
    assert hist["a"].sum() == 2 and hist["b"].sum() == 1                 # degenerate range handled
    x = np.concatenate([np.zeros((10, 5)), np.ones((10, 5)) * 5]) + np.random.default_rng(0).normal(size=(20, 5)) * 0.1
    y = np.repeat([0, 1], 10)
    assert weights_kmeans_nmi(torch.as_tensor(x), y) == pytest.approx(1.0)
    assert weights_kmeans_nmi(torch.as_tensor(x), y, standardize=True) == pytest.approx(1.0)
    with pytest.raises(BadInputError, match="NaN"):
        pairwise_distances(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(BadInputError, match="metric"):
        pairwise_distances(torch.zeros(2, 2), metric="l1")  # type: ignore[arg-type]
    with pytest.raises(BadInputError, match="at least 2"):
        pairwise_distance_values(torch.zeros(1, 3))
    with pytest.raises(BadInputError, match="empty"):
        distance_histogram({"a": torch.tensor([])})

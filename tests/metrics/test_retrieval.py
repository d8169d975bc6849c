"""kNN retrieval and its scores on hand-made examples with known answers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nf2vec_core.errors import BadInputError
from nf2vec_core.metrics.retrieval import (hit_rate_at_k, knn, mean_average_precision_at_k, precision_at_k,
                                           recall_at_k)

Q = np.array([0, 1, 2])
R = np.array([[0, 1, 0, 1, 0],     # rel 1 0 1 0 1
              [0, 1, 1, 0, 0],     # rel 0 1 1 0 0
              [0, 0, 2, 2, 2]])    # rel 0 0 1 1 1 (class 2)


def test_map_at_k_known_values():
    ap0 = (1 + 2 / 3 + 3 / 5) / 3
    ap1 = (1 / 2 + 2 / 3) / 2
    ap2 = (1 / 3 + 2 / 4 + 3 / 5) / 3
    assert mean_average_precision_at_k(Q, R, 5) == pytest.approx((ap0 + ap1 + ap2) / 3)
    # with R relevant items in the gallery, normalise by min(k, R)
    num_rel = np.array([4, 6, 3])
    exp = ((1 + 2 / 3 + 3 / 5) / 4 + (1 / 2 + 2 / 3) / 5 + (1 / 3 + 2 / 4 + 3 / 5) / 3) / 3
    assert mean_average_precision_at_k(Q, R, 5, num_rel) == pytest.approx(exp)
    # k = 1: AP is 1 if the first result is relevant else 0
    assert mean_average_precision_at_k(Q, R, 1) == pytest.approx(1 / 3)
    # a perfect ranking has AP 1
    assert mean_average_precision_at_k(np.array([3]), np.array([[3, 3, 3]]), 3, 3) == pytest.approx(1.0)
    # no relevant item -> 0
    assert mean_average_precision_at_k(np.array([9]), np.array([[1, 2]]), 2) == 0.0


def test_map_differs_from_precision_and_hit_rate():
    q, r = np.array([0]), np.array([[0, 1, 0, 1, 0]])
    assert precision_at_k(q, r, 5) == pytest.approx(0.6)
    assert mean_average_precision_at_k(q, r, 5) == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    assert mean_average_precision_at_k(q, r, 5) != pytest.approx(precision_at_k(q, r, 5))
    assert hit_rate_at_k(q, r, 5) == 1.0


def test_precision_hit_recall():
    assert precision_at_k(Q, R, 2) == pytest.approx((0.5 + 0.5 + 0.0) / 3)
    assert hit_rate_at_k(Q, R, 1) == pytest.approx(1 / 3)
    assert hit_rate_at_k(Q, R, 2) == pytest.approx(2 / 3)
    assert hit_rate_at_k(Q, R, 3) == pytest.approx(1.0)
    assert recall_at_k(Q, R, 5, np.array([3, 4, 6])) == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert recall_at_k(Q, R, 5, 0) == 0.0
    with pytest.raises(BadInputError):
        precision_at_k(Q, R, 6)


def test_knn_excludes_self_and_is_chunk_invariant():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(50, 8, generator=g)
    idx_self = knn(x, x, 3, exclude_self=False)
    assert torch.equal(idx_self[:, 0], torch.arange(50))       # nearest is itself
    idx = knn(x, x, 3, exclude_self=True)
    assert idx.shape == (50, 3)
    assert not (idx == torch.arange(50)[:, None]).any()
    assert torch.equal(idx, knn(x, x, 3, exclude_self=True, chunk_size=7))
    assert torch.equal(idx[:, 0], idx_self[:, 1])
    # sorted nearest first
    d = torch.cdist(x, x).gather(1, idx)
    assert (d[:, 1:] >= d[:, :-1]).all()


def test_knn_against_separate_gallery_and_bad_input():
    q = np.array([[0.0, 0.0], [10.0, 10.0]])
    gal = np.array([[9.0, 9.0], [0.1, 0.0], [5.0, 5.0]])
    assert knn(q, gal, 2).tolist() == [[1, 2], [0, 2]]
    with pytest.raises(BadInputError):
        knn(q, gal, 4)
    with pytest.raises(BadInputError):
        knn(q, gal, 1, exclude_self=True)
    with pytest.raises(BadInputError):
        knn(q, np.zeros((3, 5)), 1)

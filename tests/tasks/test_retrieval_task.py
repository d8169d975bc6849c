"""Leave-one-out retrieval report over test embeddings."""
from __future__ import annotations

import numpy as np
import pytest

from nf2vec_core.errors import BadInputError
from nf2vec_core.tasks.retrieval import retrieval_report


def test_report_on_separated_and_random_embeddings():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 15)
    x = np.eye(4, 16)[y] * 20 + rng.normal(size=(60, 16))
    rep = retrieval_report(x, y, ks=(1, 5, 10))
    for k in (1, 5, 10):
        for name in ("map", "precision", "hit"):
            assert rep[f"{name}@{k}"] == pytest.approx(1.0)
        assert rep[f"recall@{k}"] == pytest.approx(k / 14)
    assert rep["n_queries"] == 60
    rnd = retrieval_report(rng.normal(size=(60, 16)), y, ks=(1, 10))
    assert rnd["precision@10"] < 0.5                          # chance = 14/59
    assert rnd["hit@10"] >= rnd["hit@1"]


def test_report_needs_enough_items():
    with pytest.raises(BadInputError):
        retrieval_report(np.zeros((5, 3)), np.zeros(5), ks=(5,))

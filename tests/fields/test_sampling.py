import numpy as np
import pytest

from nf2vec_core.errors import BadInputError
from nf2vec_core.fields.sampling import query_pool


def _sphere(n=400, r=0.5, seed=0):
    s = np.random.default_rng(seed).normal(size=(n, 3))
    return (s / np.linalg.norm(s, axis=1, keepdims=True) * r).astype(np.float32)


def test_query_pool_mix_counts_and_determinism():
    surf = _sphere()
    q = query_pool(surf, 1001, sigmas=(0.01,), fractions=(0.2, 0.5, 0.3), rng=3)
    assert q.shape == (1001, 3) and q.dtype == np.float32 and np.abs(q).max() <= 1
    dist = np.abs(np.linalg.norm(q, axis=1) - 0.5)
    assert (dist[:200] < 1e-6).all()                      # surface share: on the sphere
    assert 0.005 < dist[200:700].mean() < 0.02            # sigma 0.01 share: close to it
    assert dist[700:].mean() > 0.1                        # uniform share (301 = 300 + remainder)
    assert np.array_equal(q, query_pool(surf, 1001, sigmas=(0.01,), fractions=(0.2, 0.5, 0.3), rng=3))


def test_query_pool_rejects_bad_input():
    with pytest.raises(BadInputError):
        query_pool(np.zeros((0, 3)), 10)
    with pytest.raises(ValueError, match="fractions"):
        query_pool(_sphere(), 10, fractions=(0.5, 0.5))

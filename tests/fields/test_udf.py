import numpy as np
import pytest

from nf2vec_core.errors import BadInputError
from nf2vec_core.fields.sampling import query_pool
from nf2vec_core.fields.udf import udf_from_points


def test_udf_against_brute_force_and_clip():
    rng = np.random.default_rng(0)
    surf = rng.normal(size=(300, 3)).astype(np.float32)
    surf /= np.linalg.norm(surf, axis=1, keepdims=True) * 2          # sphere of radius 0.5
    q = query_pool(surf, 1000, rng=rng)
    udf = udf_from_points(surf, q, clip=None)
    brute = np.linalg.norm(q[:, None].astype(np.float64) - surf[None], axis=-1).min(1)
    assert np.allclose(udf, brute, atol=1e-6)
    assert 0.3 < (udf < 0.02).mean() < 0.9                           # most queries hug the surface
    clipped = udf_from_points(surf, q, clip=0.1)
    assert clipped.max() == pytest.approx(0.1) and np.allclose(clipped, np.minimum(brute, 0.1), atol=1e-6)


def test_udf_rejects_empty_and_nan():
    with pytest.raises(BadInputError):
        udf_from_points(np.zeros((0, 3)), np.zeros((2, 3)))
    with pytest.raises(BadInputError, match="NaN"):
        udf_from_points(np.array([[np.nan, 0, 0]]), np.zeros((2, 3)))

import numpy as np
import pytest

from nf2vec_core.errors import BadInputError
from nf2vec_core.fields.normalize import apply_normalization, normalize_points, normalize_to_unit_sphere


def test_normalize_to_canonical_frame():
    pts = np.random.default_rng(0).uniform([1, 2, 3], [3, 3, 4], size=(500, 3))
    out, center, scale = normalize_points(pts)
    assert np.allclose((out.max(0) + out.min(0)) / 2, 0, atol=1e-9)
    assert np.isclose(np.abs(out).max(), 0.9)
    assert np.allclose(apply_normalization(pts, center, scale), out)
    with pytest.raises(BadInputError, match="coincide"):
        normalize_points(np.ones((5, 3)))
    with pytest.raises(BadInputError, match="NaN"):
        normalize_points(np.array([[0, 0, np.nan], [1, 1, 1.0]]))
    with pytest.raises(BadInputError, match="non-empty"):
        normalize_points(np.zeros((0, 3)))


def test_normalize_to_unit_sphere():
    pts = np.random.default_rng(1).normal(size=(300, 3)) * [1, 2, 3] + 5
    out, _, _ = normalize_to_unit_sphere(pts, radius=0.5)
    assert np.isclose(np.linalg.norm(out, axis=1).max(), 0.5)
    assert np.allclose((out.max(0) + out.min(0)) / 2, 0, atol=1e-9)

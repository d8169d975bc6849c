import numpy as np
import pytest

from nf2vec_core.errors import BadInputError
from nf2vec_core.fields.voxels import occupancy_from_voxels, voxel_centers


def test_voxel_centers_layout():
    c = voxel_centers(4)
    assert c.shape == (64, 3) and c.dtype == np.float32
    assert np.allclose(c[0], [-0.75, -0.75, -0.75]) and np.allclose(c[1], [-0.75, -0.75, -0.25])
    assert np.allclose(c[4], [-0.75, -0.25, -0.75]) and np.allclose(c[-1], [0.75, 0.75, 0.75])


def test_occupancy_from_voxels_nearest_lookup():
    r = 8
    vox = np.zeros((r, r, r), dtype=bool)
    vox[2, 5, 7] = True
    c = voxel_centers(r).reshape(r, r, r, 3)
    jitter = np.array([0.124, -0.124, 0.1]) / 1.0          # within half a voxel (1/8 = 0.125)
    q = np.stack([c[2, 5, 7], c[2, 5, 7] + jitter, c[2, 5, 6], [5.0, 5.0, 5.0]])
    assert occupancy_from_voxels(vox, q).tolist() == [True, True, False, False]
    assert np.array_equal(occupancy_from_voxels(vox, voxel_centers(r)), vox.ravel())
    with pytest.raises(BadInputError):
        occupancy_from_voxels(np.zeros((2, 3, 4), dtype=bool), q)

import numpy as np
import pytest
import trimesh

from nf2vec_core.fields.occupancy import occupancy_eval_sets, offgrid_points, voxelize
from nf2vec_core.fields.voxels import voxel_centers

SPHERE_FRACTION = 4 / 3 * np.pi * 0.6 ** 3 / 8


def test_voxelize_sphere_volume_from_function_sdf_and_mesh():
    vox = voxelize(lambda p: np.linalg.norm(p, axis=1) < 0.6, resolution=48)
    assert vox.shape == (48, 48, 48) and vox.dtype == bool
    assert abs(vox.mean() - SPHERE_FRACTION) < 0.02 * SPHERE_FRACTION
    from_sdf = voxelize(lambda p: np.linalg.norm(p, axis=1) - 0.6, resolution=48)   # float: inside where < 0
    assert np.array_equal(from_sdf, vox)
    mesh = trimesh.creation.icosphere(subdivisions=4, radius=0.6)
    from_mesh = voxelize(mesh, resolution=48)
    assert abs(from_mesh.mean() - SPHERE_FRACTION) < 0.02 * SPHERE_FRACTION
    assert from_mesh[24, 24, 24] and not from_mesh[0, 0, 0]                       # solid, not a shell


def test_offgrid_points_lie_between_voxel_centres():
    r = 16
    p = offgrid_points(r, 5000, rng=0)
    assert np.abs(p).max() <= 1
    cell = (p + 1) / 2 * r                                 # voxel-index units; centres at k + 0.5
    off = np.abs(cell - (np.floor(cell) + 0.5)).max(1)
    assert off.min() >= 0.25 * 0.5 - 1e-5                  # never on the grid
    assert np.array_equal(p, offgrid_points(r, 5000, rng=0))


def test_occupancy_eval_sets_from_the_shape():
    sets = occupancy_eval_sets(lambda q: np.linalg.norm(q, axis=1) < 0.6, resolution=32, n_off=20000, rng=1)
    assert sets["on_points"].shape == (32 ** 3, 3) and sets["off_points"].shape == (20000, 3)
    assert np.array_equal(sets["off_occupancy"], np.linalg.norm(sets["off_points"], axis=1) < 0.6)
    assert abs(sets["off_occupancy"].mean() - SPHERE_FRACTION) < 0.02
    assert abs(sets["on_occupancy"].mean() - SPHERE_FRACTION) < 0.02


@pytest.mark.parametrize("resolution,block", [(32, 4), (24, 4), (30, 4), (16, 1)])
def test_voxelize_sdf_matches_brute_force(resolution, block):
    from nf2vec_core.data import procedural as P
    from nf2vec_core.fields.occupancy import voxelize_sdf

    shape = P.make_shape("chair", 5)
    sdf = lambda q: P.shape_sdf(shape, q)[0]  # noqa: E731
    sphere = lambda q: np.linalg.norm(q, axis=-1) - 0.61  # noqa: E731
    for fn in (sdf, sphere):
        brute = (fn(voxel_centers(resolution)) < 0).reshape((resolution,) * 3)
        fast = voxelize_sdf(fn, resolution, block)
        assert fast.dtype == bool and fast.shape == brute.shape
        assert np.array_equal(fast, brute) and brute.any()

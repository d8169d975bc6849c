"""Fitting targets: boundary voxels and the boundary-biased occupancy pools."""
import torch

from nf2vec_core.fitting.targets import boundary_voxels, occupancy_pool, voxel_grid_centers


def _reference_boundary(vox: torch.Tensor) -> torch.Tensor:
    """3x3x3 dilation != erosion by max-pooling (the straightforward version)."""
    v = vox.float().unsqueeze(1)
    dil = torch.nn.functional.max_pool3d(v, 3, 1, 1)
    ero = -torch.nn.functional.max_pool3d(-v, 3, 1, 1)
    return (dil != ero).squeeze(1)


def test_boundary_voxels_match_max_pool_reference():
    g = torch.Generator().manual_seed(0)
    for r, p in ((1, 0.5), (2, 0.5), (5, 0.3), (16, 0.1), (16, 0.9)):
        vox = (torch.rand(3, r, r, r, generator=g) < p).to(torch.uint8)
        assert torch.equal(boundary_voxels(vox), _reference_boundary(vox)), (r, p)


def test_boundary_voxels_of_a_cube():
    vox = torch.zeros(1, 8, 8, 8, dtype=torch.uint8)
    vox[0, 2:6, 2:6, 2:6] = 1
    b = boundary_voxels(vox)[0]
    # the cube's shell (inside) and the layer around it (outside) are boundary; the core is not
    assert b[2, 3, 3] and b[1, 3, 3] and not b[3, 3, 3] and not b[0, 3, 3]
    assert int(b.sum()) == 6 ** 3 - 2 ** 3
    assert not boundary_voxels(torch.ones(1, 4, 4, 4)).any()


def test_occupancy_pool_draws_boundary_voxels():
    vox = torch.zeros(2, 16, 16, 16, dtype=torch.uint8)
    vox[:, 4:12, 4:12, 4:12] = 1
    pool = occupancy_pool(vox, 0.5, 256, torch.Generator().manual_seed(0))
    assert pool.coords.shape == (2, 256, 3) and pool.values.shape == (2, 256, 1)
    centres = voxel_grid_centers(16)
    flat_b = boundary_voxels(vox).reshape(2, -1)
    for i in range(2):
        idx = torch.cdist(pool.coords[i], centres).argmin(1)
        assert flat_b[i, idx[:128]].all()                      # the surface half
        assert torch.equal(pool.values[i, :, 0], vox[i].reshape(-1)[idx].float())

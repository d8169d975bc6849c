"""The multiresolution hash encoding: level resolutions, one-to-one and hashed corner indices
(against Instant-NGP's uint32 hash), trilinear blending (exact on linear features) and gradients."""
from __future__ import annotations

import torch

from nf2vec_core.nerf.hashgrid import (CORNERS, PRIMES, corner_indices, hash_encode, level_resolutions,
                                       trilinear_weights)


def _ngp_hash(x: int, y: int, z: int, size: int) -> int:
    """Instant-NGP's spatial hash in uint32 arithmetic (products wrap at 2^32)."""
    h = 0
    for c, p in zip((x, y, z), PRIMES):
        h ^= (c * p) & 0xFFFFFFFF
    return h % size


def test_level_resolutions_grow_geometrically():
    assert level_resolutions(16, 2.0, 4) == (16, 32, 64, 128)
    assert level_resolutions(4, 1.5, 5) == (4, 6, 9, 13, 20)          # floor(4 * 1.5^l): 4, 6, 9, 13.5, 20.25


def test_hashed_indices_are_in_range_and_match_the_reference_hash():
    size = 1 << 10
    res = torch.tensor([64, 500])                                     # (N + 1)^3 > T: both levels hashed
    gen = torch.Generator().manual_seed(0)
    cell = torch.stack([torch.randint(0, 64, (200, 3), generator=gen),
                        torch.randint(0, 500, (200, 3), generator=gen)], dim=1)   # [200, L=2, 3]
    idx = corner_indices(cell, res, size)
    assert idx.shape == (200, 2, 8)
    assert int(idx.min()) >= 0 and int(idx.max()) < size
    for i in range(0, 200, 37):
        for lvl in range(2):
            for k in range(8):
                x, y, z = (cell[i, lvl] + CORNERS[k]).tolist()
                assert int(idx[i, lvl, k]) == _ngp_hash(x, y, z, size)
    big = torch.tensor([[[60000, 59999, 65535]]])                     # coordinates at the finest allowed level
    assert 0 <= int(corner_indices(big, torch.tensor([65536]), size).max()) < size


def test_coarse_levels_index_every_vertex_once():
    res, size = 3, 64                                                 # (3 + 1)^3 = 64 vertices = T
    cells = torch.cartesian_prod(*[torch.arange(res)] * 3)            # every cell
    idx = corner_indices(cells.unsqueeze(1), torch.tensor([res]), size)
    assert sorted(set(idx.flatten().tolist())) == list(range(size))
    v = cells.unsqueeze(1) + CORNERS                                  # the corner vertices themselves
    assert torch.equal(idx[:, 0], v[..., 0] + 4 * v[..., 1] + 16 * v[..., 2])


def test_trilinear_blend_is_exact_on_linear_features():
    """Features that are a linear function of the vertex position blend to that function at any point."""
    res, size = 4, 128
    side = torch.arange(res + 1, dtype=torch.float32)
    vz, vy, vx = torch.meshgrid(side, side, side, indexing="ij")      # dense row x + 5 y + 25 z
    lin = torch.stack([vx + 2 * vy - vz, 0.5 * vz + 1.0], -1).reshape(-1, 2)
    tables = torch.zeros(2, 1, size, 2)
    tables[:, 0, :lin.shape[0]] = lin
    tables[1] *= -3.0                                                 # a second NeRF: its own table
    u = torch.rand(2, 300, 3, generator=torch.Generator().manual_seed(1))
    u[:, 0] = 1.0                                                     # the far corner of the box
    out = hash_encode(tables, u, [res])
    p = u * res
    expect = torch.stack([p[..., 0] + 2 * p[..., 1] - p[..., 2], 0.5 * p[..., 2] + 1.0], -1)
    assert out.shape == (2, 300, 2)
    assert torch.allclose(out[0], expect[0], atol=1e-5) and torch.allclose(out[1], -3.0 * expect[1], atol=1e-5)
    w = trilinear_weights(torch.rand(10, 3))
    assert torch.allclose(w.sum(-1), torch.ones(10)) and bool((w >= 0).all())
    assert torch.equal(trilinear_weights(torch.tensor([1.0, 0.0, 1.0])), torch.eye(8)[5])   # corner (1, 0, 1)


def test_points_on_vertices_read_their_rows_and_gradients_reach_only_read_rows():
    size, res = 256, [3, 40]                                          # level 0 dense, level 1 hashed
    tables = torch.randn(1, 2, size, 3, requires_grad=True)
    vert = torch.tensor([[7, 12, 33]])
    u = (vert.float() / 40.0).unsqueeze(0)                            # a vertex of level 1
    out = hash_encode(tables, u, res)
    assert out.shape == (1, 1, 2 * 3)
    row = _ngp_hash(7, 12, 33, size)
    assert torch.allclose(out[0, 0, 3:], tables[0, 1, row], atol=1e-6)
    out.sum().backward()
    touched = tables.grad.abs().sum(-1) > 0                           # [1, L, T]
    assert int(touched[0, 1].sum()) == 1 and bool(touched[0, 1, row])  # on a vertex only its row weighs
    assert 1 <= int(touched[0, 0].sum()) <= 8

"""Reconstruction from fields: grids, marching cubes, UDF point clouds, voxels, interpolation."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import trimesh

from nf2vec_core.decoders.implicit import ImplicitDecoder, ImplicitDecoderConfig
from nf2vec_core.decoders.reconstruct import (decode_grid, grid_points, interpolate, interpolate_weights,
                                              nf_field_fn, nf_grid, nf_udf_to_point_cloud,
                                              occupancy_to_mesh, point_cloud_from_udf, sdf_to_mesh,
                                              udf_to_point_cloud, voxels_from_grid)
from nf2vec_core.errors import BadInputError
from nf2vec_core.nf.functional import forward
from nf2vec_core.nf.init import init_batch
from nf2vec_core.nf.layout import ArchSpec

R0 = 0.5


def _sphere_sdf(p: torch.Tensor, r: float = R0) -> torch.Tensor:
    return p.norm(dim=-1) - r


def test_grid_points_layout() -> None:
    g = grid_points(4)
    assert g.shape == (64, 3)
    assert g[0].tolist() == [-1, -1, -1] and g[-1].tolist() == [1, 1, 1]
    assert g[1].tolist()[:2] == [-1, -1] and g[1, 2] > -1  # z fastest ([i, j, k] C order)
    c = grid_points(4, centers=True)
    assert math.isclose(c[0, 0].item(), -0.75)


def test_decode_grid_and_nf_grid_match_pointwise_evaluation() -> None:
    torch.manual_seed(0)
    dec = ImplicitDecoder(8, cfg=ImplicitDecoderConfig(hidden=16, layers=3, pe_freqs=2)).eval()
    emb = torch.randn(2, 8)
    grid = decode_grid(dec, emb, 6, "occupancy", chunk=50)
    assert grid.shape == (2, 6, 6, 6)
    with torch.no_grad():
        ref = torch.sigmoid(dec(emb, grid_points(6))[..., 0]).reshape(2, 6, 6, 6)
    torch.testing.assert_close(grid, ref)
    spec = ArchSpec(depth=2, hidden=16)
    theta = init_batch(spec, 3, mode="random", seed=1)
    g = nf_grid(spec, theta, 5, "sdf", chunk=17)
    torch.testing.assert_close(g, forward(spec, theta, grid_points(5))[..., 0].reshape(3, 5, 5, 5))


def test_sdf_marching_cubes_sphere_is_closed_with_right_radius() -> None:
    grid = _sphere_sdf(grid_points(32)).reshape(32, 32, 32)
    verts, faces = sdf_to_mesh(grid)
    mesh = trimesh.Trimesh(verts, faces, process=True)
    assert mesh.is_watertight
    assert np.abs(np.linalg.norm(verts, axis=1) - R0).max() < 0.02
    assert mesh.volume > 0  # outward-facing normals
    assert math.isclose(mesh.volume, 4 / 3 * math.pi * R0**3, rel_tol=0.05)


def test_occupancy_marching_cubes_and_centers() -> None:
    pts = grid_points(24, centers=True)
    occ = torch.sigmoid((R0 - pts.norm(dim=-1)) * 40).reshape(24, 24, 24)
    verts, faces = occupancy_to_mesh(occ, centers=True)
    mesh = trimesh.Trimesh(verts, faces, process=True)
    assert mesh.is_watertight and mesh.volume > 0
    assert np.abs(np.linalg.norm(verts, axis=1) - R0).mean() < 0.02


def test_marching_cubes_edge_cases() -> None:
    v, f = sdf_to_mesh(torch.ones(8, 8, 8))
    assert v.shape == (0, 3) and f.shape == (0, 3)
    bad = torch.zeros(8, 8, 8)
    bad[0, 0, 0] = float("nan")
    with pytest.raises(BadInputError):
        sdf_to_mesh(bad)
    with pytest.raises(BadInputError):
        sdf_to_mesh(torch.zeros(2, 8, 8, 8))


def test_udf_point_cloud_lands_on_an_analytic_sphere() -> None:
    centers = torch.tensor([[0.0, 0.0, 0.0], [0.2, -0.1, 0.0]])

    def udf(p: torch.Tensor) -> torch.Tensor:  # two spheres, UDF clipped at 0.1 as the NFs are
        return (p - centers[:, None]).norm(dim=-1).sub(R0).abs().clamp(max=0.1)

    pc = point_cloud_from_udf(udf, 2, n_points=2000, n_candidates=20_000, iters=4, seed=0)
    assert pc.shape == (2, 2000, 3)
    d = ((pc - centers[:, None]).norm(dim=-1) - R0).abs()
    assert d.max() < 1e-3
    # spread over the whole sphere, not a clump
    rel = pc - centers[:, None]
    assert (rel.mean(dim=1).norm(dim=-1) < 0.05).all()
    assert all(len({tuple(s) for s in (rel[b] > 0).int().tolist()}) == 8 for b in range(2))
    again = point_cloud_from_udf(udf, 2, n_points=2000, n_candidates=20_000, iters=4, seed=0)
    torch.testing.assert_close(pc, again)


def test_point_clouds_from_decoder_and_nf_shapes() -> None:
    torch.manual_seed(0)
    dec = ImplicitDecoder(8, cfg=ImplicitDecoderConfig(hidden=16, layers=3, pe_freqs=2))
    pc = udf_to_point_cloud(dec, torch.randn(2, 8), n_points=64, iters=2, n_candidates=500)
    assert pc.shape == (2, 64, 3) and torch.isfinite(pc).all()
    spec = ArchSpec(depth=2, hidden=16)
    theta = init_batch(spec, 2, mode="shared", seed=0)
    pc = nf_udf_to_point_cloud(spec, theta, n_points=32, iters=2, n_candidates=300)
    assert pc.shape == (2, 32, 3)
    vals = nf_field_fn(spec, theta, "udf")(pc)
    assert vals.shape == (2, 32) and ((vals >= 0) & (vals <= 0.1)).all()


def test_voxels_from_grid() -> None:
    r = 16
    sdf = _sphere_sdf(grid_points(r, centers=True)).reshape(r, r, r)
    vox = voxels_from_grid(sdf, "sdf")
    assert vox.dtype == torch.bool
    expected = 4 / 3 * math.pi * R0**3 / (2 / r) ** 3
    assert abs(vox.sum().item() - expected) / expected < 0.1
    occ = voxels_from_grid((sdf < 0).float(), "occupancy")
    assert torch.equal(occ, vox)
    shell = voxels_from_grid(sdf.abs(), "udf")
    assert shell.sum() > 0 and not shell[r // 2, r // 2, r // 2]


def test_interpolation() -> None:
    a, b = torch.zeros(4), torch.arange(4.0)
    path = interpolate(a, b, 5)
    assert path.shape == (5, 4)
    torch.testing.assert_close(path[0], a)
    torch.testing.assert_close(path[-1], b)
    torch.testing.assert_close(path[2], (a + b) / 2)
    w = interpolate_weights(torch.ones(10), -torch.ones(10), 3)
    torch.testing.assert_close(w[1], torch.zeros(10))
    with pytest.raises(ValueError):
        interpolate(a, torch.zeros(3), 4)

"""Occupancy: voxelisation by an inside test (a solid, not a surface shell) and the on-grid /
off-grid evaluation sets of paper 004 §3.2 (off-grid points lie between voxel centres; their
occupancy comes from the shape). The voxel grid itself: :mod:`.voxels`.
"""
from __future__ import annotations

from typing import Callable, Union

import numpy as np
import trimesh

from ..errors import BadInputError
from .sdf import inside_function
from .voxels import voxel_centers

InsideSource = Union[Callable[[np.ndarray], np.ndarray], trimesh.Trimesh, tuple]


def as_inside_fn(source: InsideSource, **sign_kw) -> Callable[[np.ndarray], np.ndarray]:
    """An inside test ``[M,3] -> bool [M]`` from a mesh (``trimesh.Trimesh`` or ``(vertices, faces)``,
    sign by :func:`nf2vec_core.fields.sdf.inside_function`, ``sign_kw`` passed on) or a callable that
    returns either booleans (inside) or signed distances (inside where ``< 0``)."""
    if isinstance(source, trimesh.Trimesh):
        source = (source.vertices, source.faces)
    if isinstance(source, tuple):
        return inside_function(*source, **sign_kw)
    if not callable(source):
        raise BadInputError(None, f"voxelize: expected a mesh or a callable, got {type(source).__name__}")

    def inside(q: np.ndarray) -> np.ndarray:
        out = np.asarray(source(q))
        return out if out.dtype == bool else out < 0

    return inside


def voxelize(source: InsideSource, resolution: int = 64, **sign_kw) -> np.ndarray:
    """Boolean voxels ``[R,R,R]``: the inside test (see :func:`as_inside_fn`) at every voxel centre."""
    inside = as_inside_fn(source, **sign_kw)
    return np.asarray(inside(voxel_centers(resolution)), dtype=bool).reshape((resolution,) * 3)


def offgrid_points(resolution: int, n: int, rng: np.random.Generator | int | None = None,
                   min_offset: float = 0.25) -> np.ndarray:
    """``n`` points ``[n,3]`` (float32) between voxel centres: a uniformly drawn voxel's centre plus
    a jitter in ``[-h, h]^3`` (``h`` = half a voxel), each point at least ``min_offset * h`` away
    from its voxel centre along the largest-offset axis, so no point falls back onto the grid."""
    rng = np.random.default_rng(0 if rng is None else rng)
    centers = voxel_centers(resolution)
    h = 1.0 / resolution
    base = centers[rng.integers(0, len(centers), n)].astype(np.float64)
    jitter = rng.uniform(-1, 1, size=(n, 3))
    far = np.abs(jitter).max(1, keepdims=True)
    # rescale |jitter|_inf from [0, 1] to [min_offset, 1] (direction kept)
    scale = (min_offset + (1 - min_offset) * far) / np.maximum(far, 1e-12)
    return (base + jitter * scale * h).astype(np.float32)


def occupancy_eval_sets(inside_fn: InsideSource, resolution: int = 64, n_off: int = 100_000,
                        rng: np.random.Generator | int | None = None, **sign_kw) -> dict[str, np.ndarray]:
    """On-grid and off-grid occupancy ground truth (paper 004 §3.2), both from the shape itself.

    Returns ``{"on_points": [R^3,3] f32 (voxel centres), "on_occupancy": bool [R^3],
    "off_points": [n_off,3] f32 (:func:`offgrid_points`), "off_occupancy": bool [n_off]}``.
    ``inside_fn``: anything :func:`as_inside_fn` accepts.
    """
    inside = as_inside_fn(inside_fn, **sign_kw)
    on = voxel_centers(resolution)
    off = offgrid_points(resolution, n_off, rng)
    return {"on_points": on, "on_occupancy": np.asarray(inside(on), dtype=bool),
            "off_points": off, "off_occupancy": np.asarray(inside(off), dtype=bool)}


def voxelize_sdf(sdf_fn: Callable[[np.ndarray], np.ndarray], resolution: int = 64, block: int = 4) -> np.ndarray:
    """Boolean voxels ``[R, R, R]`` (``sdf < 0`` at the voxel centres), evaluating far fewer points.

    Exact for any ``sdf_fn`` whose magnitude never exceeds the true distance to the surface (an
    exact or conservative SDF): the grid is cut into ``block^3`` blocks; where ``|sdf|`` at a
    block's centre exceeds the distance from it to the block's farthest voxel centre, no surface
    crosses the block and all its voxels take the centre's sign; only the other blocks (those near
    the surface) are evaluated voxel by voxel. Equal to ``sdf_fn(voxel_centers(R)) < 0``.
    """
    if resolution < 1 or block < 1:
        raise BadInputError(None, f"voxelize_sdf: need resolution, block >= 1 (got {resolution}, {block})")
    if resolution % block:
        return (np.asarray(sdf_fn(voxel_centers(resolution))) < 0).reshape((resolution,) * 3)
    nb, h = resolution // block, 2.0 / resolution
    cb = (np.arange(nb, dtype=np.float64) * block + block / 2) * h - 1   # block centres (a voxel corner)
    centres = np.stack(np.meshgrid(cb, cb, cb, indexing="ij"), axis=-1).reshape(-1, 3).astype(np.float32)
    d = np.asarray(sdf_fn(centres), dtype=np.float64)
    reach = np.sqrt(3.0) * (block - 1) / 2 * h * (1 + 1e-6) + 1e-7       # centre -> farthest voxel centre
    decided = np.abs(d) > reach
    vox = np.broadcast_to((d < 0)[:, None, None, None], (len(d), block, block, block)).copy()
    todo = np.flatnonzero(~decided)
    if len(todo):
        off = (np.arange(block, dtype=np.float64) - (block - 1) / 2) * h
        local = np.stack(np.meshgrid(off, off, off, indexing="ij"), axis=-1).reshape(-1, 3)
        pts = (centres[todo].astype(np.float64)[:, None, :] + local[None]).reshape(-1, 3).astype(np.float32)
        vox[todo] = (np.asarray(sdf_fn(pts)) < 0).reshape(len(todo), block, block, block)
    # [bx, by, bz, i, j, k] -> [bx, i, by, j, bz, k]
    return vox.reshape(nb, nb, nb, block, block, block).transpose(0, 3, 1, 4, 2, 5).reshape((resolution,) * 3)

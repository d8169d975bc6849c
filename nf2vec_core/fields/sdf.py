"""Signed distance fields from triangle meshes (negative inside).

Magnitude: the exact point-to-triangle distance (closest point from libigl's AABB tree through
point-cloud-utils; its ``signed_distance_to_mesh`` is not used: wrong magnitudes on open meshes).
Sign, by mesh type (``method="auto"``):

* watertight meshes: the fast generalised winding number (Barill et al. 2018), exact (+-1 / 0);
* anything else (the open, double-sided, self-intersecting triangle soups common in ShapeNet,
  where winding numbers cancel out): a voxel flood fill — voxels within half a voxel diagonal of
  the surface are walls, the empty voxels connected to the border of the grid are outside, all
  the rest is inside (thin parts become solid at the voxel scale). Exact away from the surface;
  near it, the sign is decided at the resolution of the grid (``fill_resolution``, default 128).
"""
from __future__ import annotations

from typing import Literal

import numpy as np
import point_cloud_utils as pcu
import trimesh
from scipy import ndimage

from ..errors import BadInputError
from .occupancy import voxel_centers


def _check(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v = np.ascontiguousarray(vertices, dtype=np.float64)
    f = np.ascontiguousarray(faces, dtype=np.int64)
    if len(v) == 0 or len(f) == 0:
        raise BadInputError(None, "empty mesh")
    if not np.isfinite(v).all():
        raise BadInputError(None, "mesh vertices contain NaN/inf")
    return v, f


def unsigned_distance(vertices: np.ndarray, faces: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Exact distance ``[M]`` from each query to the mesh surface."""
    v, f = _check(vertices, faces)
    q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float64)
    n = len(q)
    if n == 1:  # point-cloud-utils mishandles a single query: pad
        q = np.concatenate([q, q])
    _, fi, bc = pcu.closest_points_on_mesh(q, v, f)
    closest = np.einsum("mk,mkd->md", np.asarray(bc, dtype=np.float64), v[f[np.asarray(fi)]])
    return np.linalg.norm(q - closest, axis=1)[:n]


def flood_fill_inside(vertices: np.ndarray, faces: np.ndarray, resolution: int = 128) -> np.ndarray:
    """Boolean solid ``[R,R,R]`` over the voxel centres of ``[-1,1]^3`` by flood fill (see module doc)."""
    centers = voxel_centers(resolution)
    wall = unsigned_distance(vertices, faces, centers) < np.sqrt(3) / resolution  # half a voxel diagonal
    wall = wall.reshape((resolution,) * 3)
    labels, _ = ndimage.label(~wall)
    border = np.unique(np.concatenate([labels[[0, -1]].ravel(), labels[:, [0, -1]].ravel(),
                                       labels[:, :, [0, -1]].ravel()]))
    outside = np.isin(labels, border[border > 0])
    return ~outside


def sdf_from_mesh(vertices: np.ndarray, faces: np.ndarray, queries: np.ndarray, *,
                  method: Literal["auto", "winding", "flood_fill"] = "auto",
                  fill_resolution: int = 128) -> np.ndarray:
    """Signed distance ``[M]`` (float32, negative inside) of ``queries [M,3]`` in ``[-1,1]^3``."""
    v, f = _check(vertices, faces)
    q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float64)
    if method == "auto":
        method = "winding" if trimesh.Trimesh(v, f, process=False).is_watertight else "flood_fill"
    dist = unsigned_distance(v, f, q)
    if method == "winding":
        qq = np.concatenate([q, q]) if len(q) == 1 else q
        inside = pcu.triangle_soup_fast_winding_number(v, f, qq).reshape(len(qq))[: len(q)] > 0.5
    elif method == "flood_fill":
        solid = flood_fill_inside(v, f, fill_resolution)
        idx = np.clip(((q + 1) / 2 * fill_resolution).astype(np.int64), 0, fill_resolution - 1)
        inside = solid[idx[:, 0], idx[:, 1], idx[:, 2]]
    else:
        raise ValueError(f"sdf_from_mesh: unknown method {method!r}")
    return np.where(inside, -dist, dist).astype(np.float32)

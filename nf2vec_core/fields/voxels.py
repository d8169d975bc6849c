"""The voxel grid: centres of the ``R^3`` grid over ``[-1,1]^3`` and nearest-voxel lookup.

Voxel ``(i, j, k)`` covers ``[-1 + 2i/R, -1 + 2(i+1)/R] x ...`` (axes x, y, z) and has centre
``-1 + (2i + 1)/R``; flattened arrays are C-ordered over ``(i, j, k)``.
"""
from __future__ import annotations

import numpy as np

from ..errors import BadInputError


def voxel_centers(resolution: int) -> np.ndarray:
    """Voxel centres ``[R^3, 3]`` (float32), index order (x, y, z) C-major."""
    if resolution < 1:
        raise BadInputError(None, f"voxel resolution must be >= 1, got {resolution}")
    c = (np.arange(resolution, dtype=np.float32) + 0.5) / resolution * 2 - 1
    return np.stack(np.meshgrid(c, c, c, indexing="ij"), axis=-1).reshape(-1, 3)


def occupancy_from_voxels(voxels: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Occupancy ``bool [M]`` of ``queries [M,3]``: the value of the voxel containing each point (the
    nearest voxel centre); points outside ``[-1,1]^3`` take the nearest border voxel."""
    vox = np.asarray(voxels, dtype=bool)
    if vox.ndim != 3 or len(set(vox.shape)) != 1:
        raise BadInputError(None, f"voxels must be a cubic [R,R,R] grid, got {vox.shape}")
    r = vox.shape[0]
    q = np.asarray(queries, dtype=np.float64).reshape(-1, 3)
    idx = np.clip(np.floor((q + 1) / 2 * r).astype(np.int64), 0, r - 1)
    return vox[idx[:, 0], idx[:, 1], idx[:, 2]]

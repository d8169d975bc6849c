"""Occupancy: voxel centres of the ``R^3`` grid over ``[-1,1]^3`` and voxelisation by an inside test."""
from __future__ import annotations

from typing import Callable

import numpy as np


def voxel_centers(resolution: int) -> np.ndarray:
    """Voxel centres ``[R^3, 3]`` (float32), index order (x, y, z) C-major."""
    c = (np.arange(resolution, dtype=np.float32) + 0.5) / resolution * 2 - 1
    return np.stack(np.meshgrid(c, c, c, indexing="ij"), axis=-1).reshape(-1, 3)


def voxelize(inside: Callable[[np.ndarray], np.ndarray], resolution: int = 64) -> np.ndarray:
    """Boolean voxels ``[R,R,R]``: the inside test at every voxel centre (a solid, not a shell)."""
    return np.asarray(inside(voxel_centers(resolution)), dtype=bool).reshape((resolution,) * 3)

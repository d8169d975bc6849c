"""Unsigned distance fields from point clouds: KD-tree nearest neighbour, clipped at a threshold
(paper 000 / inr2vec clip the UDF at 0.1 and fit ``udf / clip`` with a BCE loss)."""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..errors import BadInputError


def udf_from_points(surface: np.ndarray, queries: np.ndarray, clip: float | None = 0.1) -> np.ndarray:
    """Distance ``[M]`` from each query to the nearest surface point, clipped at ``clip``."""
    surface = np.asarray(surface, dtype=np.float64)
    if len(surface) == 0:
        raise BadInputError(None, "empty point cloud")
    dist, _ = cKDTree(surface).query(np.asarray(queries, dtype=np.float64), k=1, workers=-1)
    return np.minimum(dist, clip) if clip is not None else dist

"""Unsigned distance fields from point clouds: KD-tree nearest-neighbour distance, clipped.

Paper 000 (nf2vec) follows inr2vec: the UDF is clipped at ``0.1`` (in the canonical frame, bbox
half-extent 0.9) and the NF is fitted to ``udf / clip`` in ``[0, 1]`` with a binary cross-entropy
loss on its logit (field value ``sigmoid(out) * clip``). Clipping keeps the capacity of the small
MLP on the region near the surface, the only part needed to extract the surface again.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..errors import BadInputError

DEFAULT_CLIP = 0.1


def udf_from_points(surface: np.ndarray, queries: np.ndarray, clip: float | None = DEFAULT_CLIP) -> np.ndarray:
    """Distance ``[M]`` (float64) from each query ``[M,3]`` to the nearest point of ``surface [S,3]``,
    clipped at ``clip`` (``None``: unclipped)."""
    surface = np.asarray(surface, dtype=np.float64)
    if surface.ndim != 2 or surface.shape[1] != 3 or len(surface) == 0:
        raise BadInputError(None, f"empty or malformed point cloud {surface.shape}")
    if not np.isfinite(surface).all():
        raise BadInputError(None, "point cloud contains NaN/inf")
    q = np.asarray(queries, dtype=np.float64).reshape(-1, 3)
    dist, _ = cKDTree(surface).query(q, k=1, workers=-1)
    return np.minimum(dist, clip) if clip is not None else dist

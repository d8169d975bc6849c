"""Normalisation to the canonical frame: bounding box centred at the origin, largest half-extent
0.9 (inside ``[-1,1]^3`` with a margin), or a bounding sphere."""
from __future__ import annotations

import numpy as np

from ..errors import BadInputError


def normalize_points(points: np.ndarray, half_extent: float = 0.9) -> tuple[np.ndarray, np.ndarray, float]:
    """``(normalised points, center, scale)`` with ``normalised = (points - center) * scale``."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) == 0:
        raise BadInputError(None, f"expected a non-empty [N,3] point array, got shape {pts.shape}")
    if not np.isfinite(pts).all():
        raise BadInputError(None, "points contain NaN/inf")
    lo, hi = pts.min(0), pts.max(0)
    extent = float((hi - lo).max()) / 2
    if extent <= 0:
        raise BadInputError(None, "degenerate geometry: all points coincide")
    center = (lo + hi) / 2
    scale = half_extent / extent
    return apply_normalization(pts, center, scale), center, scale


def normalize_to_unit_sphere(points: np.ndarray, radius: float = 0.9) -> tuple[np.ndarray, np.ndarray, float]:
    """Centroid-free variant: bbox centre at the origin, farthest point at ``radius``."""
    pts = np.asarray(points, dtype=np.float64)
    center = (pts.min(0) + pts.max(0)) / 2
    r = float(np.linalg.norm(pts - center, axis=1).max())
    if r <= 0:
        raise BadInputError(None, "degenerate geometry: all points coincide")
    return apply_normalization(pts, center, radius / r), center, radius / r


def apply_normalization(points: np.ndarray, center: np.ndarray, scale: float) -> np.ndarray:
    return (np.asarray(points, dtype=np.float64) - center) * scale

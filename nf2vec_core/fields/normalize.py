"""Normalisation to the canonical frame: bounding box centred at the origin, largest half-extent
0.9 (inside ``[-1,1]^3`` with a 0.1 margin), or a bounding sphere of a given radius.

Every function returns ``(normalised, center, scale)`` with ``normalised = (points - center) * scale``;
apply the same ``(center, scale)`` to other data of the shape (mesh vertices, surface samples) with
:func:`apply_normalization`.
"""
from __future__ import annotations

import numpy as np

from ..errors import BadInputError


def _validated(points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) == 0:
        raise BadInputError(None, f"expected a non-empty [N,3] point array, got shape {pts.shape}")
    if not np.isfinite(pts).all():
        raise BadInputError(None, "points contain NaN/inf")
    return pts


def normalize_points(points: np.ndarray, half_extent: float = 0.9) -> tuple[np.ndarray, np.ndarray, float]:
    """Bounding-box normalisation of ``points [N,3]``: bbox centre -> origin, largest half-extent ->
    ``half_extent``. Returns ``(normalised [N,3] f64, center [3], scale)``."""
    pts = _validated(points)
    lo, hi = pts.min(0), pts.max(0)
    extent = float((hi - lo).max()) / 2
    if extent <= 0:
        raise BadInputError(None, "degenerate geometry: all points coincide")
    center = (lo + hi) / 2
    scale = half_extent / extent
    return apply_normalization(pts, center, scale), center, scale


def normalize_to_unit_sphere(points: np.ndarray, radius: float = 0.9) -> tuple[np.ndarray, np.ndarray, float]:
    """Bounding-sphere normalisation: bbox centre -> origin, farthest point at distance ``radius``.
    Returns ``(normalised [N,3] f64, center [3], scale)``."""
    pts = _validated(points)
    center = (pts.min(0) + pts.max(0)) / 2
    r = float(np.linalg.norm(pts - center, axis=1).max())
    if r <= 0:
        raise BadInputError(None, "degenerate geometry: all points coincide")
    return apply_normalization(pts, center, radius / r), center, radius / r


def apply_normalization(points: np.ndarray, center: np.ndarray, scale: float) -> np.ndarray:
    """``(points - center) * scale`` as float64 ``[N,3]``."""
    return (np.asarray(points, dtype=np.float64) - center) * scale

"""Query pools for ground-truth fields (paper 000 / inr2vec, NDF-style): points on the surface,
the surface perturbed by Gaussian noise at several sigmas, and uniform points in the cube.

Defaults: 10 % on the surface, 30 % at sigma 0.003, 30 % at 0.01, 15 % at 0.05, 15 % uniform in
``[-1,1]^3`` — dense near the surface where the field changes, enough far away to pin it down.
"""
from __future__ import annotations

import numpy as np

from ..errors import BadInputError

DEFAULT_SIGMAS = (0.003, 0.01, 0.05)
DEFAULT_FRACTIONS = (0.10, 0.30, 0.30, 0.15, 0.15)   # surface, each sigma, uniform


def query_pool(surface: np.ndarray, n: int, *, sigmas=DEFAULT_SIGMAS, fractions=DEFAULT_FRACTIONS,
               bound: float = 1.0, rng: np.random.Generator | None = None) -> np.ndarray:
    """``n`` query points ``[n,3]`` (float32) around the surface samples ``surface [S,3]``."""
    surface = np.asarray(surface, dtype=np.float32)
    if surface.ndim != 2 or surface.shape[1] != 3 or len(surface) == 0:
        raise BadInputError(None, f"empty or malformed surface sample {surface.shape}")
    if len(fractions) != len(sigmas) + 2 or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError("query_pool: fractions = (surface, one per sigma, uniform) summing to 1")
    rng = rng or np.random.default_rng(0)
    counts = np.floor(np.asarray(fractions) * n).astype(int)
    counts[-1] += n - counts.sum()
    parts = [surface[rng.integers(0, len(surface), counts[0])]]
    for sigma, c in zip(sigmas, counts[1:-1]):
        base = surface[rng.integers(0, len(surface), c)]
        parts.append(base + rng.normal(0, sigma, size=base.shape).astype(np.float32))
    parts.append(rng.uniform(-bound, bound, size=(counts[-1], 3)).astype(np.float32))
    return np.clip(np.concatenate(parts), -bound, bound).astype(np.float32)

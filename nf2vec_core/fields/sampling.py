"""Query pools for ground-truth fields (paper 000 / inr2vec, NDF-style): points on the surface,
the surface perturbed by isotropic Gaussian noise at several sigmas, and uniform points in the cube.

Defaults (canonical frame, bbox half-extent 0.9): 10 % on the surface, 30 % at sigma 0.003, 30 % at
0.01, 15 % at 0.05, 15 % uniform in ``[-1,1]^3``. Rationale: the surface is recovered from where the
field crosses 0, so most queries hug it (0.003 ~ a fifth of a 64^3 voxel, 0.01 ~ a third of a voxel
at 64^3 / the F-score threshold); sigma 0.05 covers the band where a UDF clipped at 0.1 still varies;
the uniform share pins the field down far away (no spurious surfaces). Points are clipped to the cube.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import BadInputError

DEFAULT_SIGMAS = (0.003, 0.01, 0.05)
DEFAULT_FRACTIONS = (0.10, 0.30, 0.30, 0.15, 0.15)   # surface, each sigma, uniform


def query_pool(surface: np.ndarray, n: int, *, sigmas: Sequence[float] = DEFAULT_SIGMAS,
               fractions: Sequence[float] = DEFAULT_FRACTIONS, bound: float = 1.0,
               rng: np.random.Generator | int | None = None) -> np.ndarray:
    """``n`` query points ``[n,3]`` (float32) around the surface samples ``surface [S,3]``.

    ``fractions`` = (on the surface, one per sigma, uniform in ``[-bound, bound]^3``), summing to 1;
    counts are floored and the remainder goes to the uniform share. Deterministic from ``rng``.
    """
    surface = np.asarray(surface, dtype=np.float32)
    if surface.ndim != 2 or surface.shape[1] != 3 or len(surface) == 0:
        raise BadInputError(None, f"empty or malformed surface sample {surface.shape}")
    if not np.isfinite(surface).all():
        raise BadInputError(None, "surface sample contains NaN/inf")
    if n < 0:
        raise ValueError(f"query_pool: n must be >= 0, got {n}")
    if len(fractions) != len(sigmas) + 2 or abs(sum(fractions) - 1) > 1e-6 or min(fractions) < 0:
        raise ValueError("query_pool: fractions = (surface, one per sigma, uniform), >= 0, summing to 1")
    rng = np.random.default_rng(0 if rng is None else rng)
    counts = np.floor(np.asarray(fractions) * n).astype(int)
    counts[-1] += n - counts.sum()
    parts = [surface[rng.integers(0, len(surface), counts[0])]]
    for sigma, c in zip(sigmas, counts[1:-1]):
        base = surface[rng.integers(0, len(surface), c)]
        parts.append(base + rng.normal(0, sigma, size=base.shape).astype(np.float32))
    parts.append(rng.uniform(-bound, bound, size=(counts[-1], 3)).astype(np.float32))
    return np.clip(np.concatenate(parts), -bound, bound).astype(np.float32)

"""Multiresolution hash encoding (Müller et al. 2022, Instant-NGP), batched over NeRFs, pure PyTorch.

A point ``u`` in ``[0, 1]^3`` (box coordinates) is looked up at ``L`` levels. Level ``l`` is a grid
of resolution ``N_l = floor(N_min * b^l)`` (``N_min``: base resolution, ``b``: growth factor)
whose vertices ``v`` in ``{0..N_l}^3`` own a row of ``F`` features in that level's table of ``T``
rows:

* coarse levels with ``(N_l + 1)^3 <= T`` index their vertices one-to-one (``x + s y + s^2 z``,
  ``s = N_l + 1``), as Instant-NGP does;
* finer levels use the spatial hash ``(x * 1 XOR y * 2654435761 XOR z * 805459861) mod T``
  (``T`` a power of two; computed in int64, whose low 32 bits equal the uint32 arithmetic of the
  reference implementation, so the indices are the same).

The features of the 8 corners of the cell holding ``u`` are blended trilinearly,
``w = prod_d (f_d if o_d else 1 - f_d)`` for corner offset ``o`` and in-cell fraction ``f``; the
``L`` blended rows are concatenated level-major into ``L * F`` features. Points outside the box are
clamped to it. One gather over all NeRFs, points, levels and corners (no loop per NeRF or point);
its gradient reaches exactly the table rows that were read.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

__all__ = ["PRIMES", "CORNERS", "level_resolutions", "corner_indices", "trilinear_weights", "hash_encode"]

PRIMES: tuple[int, int, int] = (1, 2654435761, 805459861)
"""The per-axis primes of Instant-NGP's spatial hash."""

CORNERS = torch.tensor([[(k >> 0) & 1, (k >> 1) & 1, (k >> 2) & 1] for k in range(8)], dtype=torch.long)
"""Offsets ``[8, 3]`` of a cell's corners; corner ``k`` has offset ``(k & 1, k >> 1 & 1, k >> 2 & 1)``."""


def level_resolutions(base_res: int, growth: float, levels: int) -> tuple[int, ...]:
    """``N_l = floor(N_min * b^l)`` for ``l < L`` (a tiny tolerance keeps exact products exact)."""
    return tuple(int(math.floor(base_res * growth ** lvl + 1e-6)) for lvl in range(levels))


def corner_indices(cell: torch.Tensor, resolutions: torch.Tensor, table_size: int) -> torch.Tensor:
    """Table rows ``[..., L, 8]`` (in ``[0, T)``) of the corners of cells ``cell [..., L, 3]`` (long)
    at levels of resolution ``resolutions [L]`` (long): one-to-one where ``(N_l + 1)^3 <= T``,
    hashed otherwise."""
    corners = cell.unsqueeze(-2) + CORNERS.to(cell.device)                      # [..., L, 8, 3]
    x, y, z = corners.unbind(-1)
    side = (resolutions + 1).view(-1, 1)                                        # [L, 1]
    dense = x + side * (y + side * z)
    hashed = ((x * PRIMES[0]) ^ (y * PRIMES[1]) ^ (z * PRIMES[2])) & (table_size - 1)
    return torch.where(side ** 3 <= table_size, dense, hashed)


def trilinear_weights(frac: torch.Tensor) -> torch.Tensor:
    """Weights ``[..., 8]`` of the cell corners (order of :data:`CORNERS`) at in-cell fractions
    ``frac [..., 3]`` in ``[0, 1]``; they sum to 1."""
    f = frac.unsqueeze(-2)                                                      # [..., 1, 3]
    return torch.where(CORNERS.to(frac.device).bool(), f, 1.0 - f).prod(-1)


def hash_encode(tables: torch.Tensor, u: torch.Tensor, resolutions: Sequence[int]) -> torch.Tensor:
    """Features ``[N, M, L * F]`` of points ``u [N, M, 3]`` (box coordinates) from the hash tables
    ``tables [N, L, T, F]`` of ``N`` NeRFs at level resolutions ``resolutions`` (``L`` ints)."""
    n, levels, size, feats = tables.shape
    m = u.shape[1]
    res = torch.as_tensor(list(resolutions), dtype=torch.long, device=u.device)
    if res.numel() != levels:
        raise ValueError(f"hash_encode: {res.numel()} resolutions for {levels} levels")
    scaled = u.clamp(0.0, 1.0).unsqueeze(-2) * res.to(u.dtype).unsqueeze(-1)   # [N, M, L, 3]
    cell = torch.minimum(scaled.floor(), (res - 1).to(u.dtype).unsqueeze(-1))   # u = 1 stays in the last cell
    weights = trilinear_weights(scaled - cell)                                  # [N, M, L, 8]
    rows = corner_indices(cell.long(), res, size) + (torch.arange(levels, device=u.device) * size).unsqueeze(-1)
    picked = tables.reshape(n, levels * size, feats).gather(1, rows.reshape(n, -1, 1).expand(-1, -1, feats))
    blended = (picked.view(n, m, levels, 8, feats) * weights.unsqueeze(-1)).sum(-2)   # [N, M, L, F]
    return blended.reshape(n, m, levels * feats)

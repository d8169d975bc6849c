"""Set measures of generated shapes (Achlioptas et al., *Learning Representations and Generative
Models for 3D Point Clouds*), from a distance between shapes, e.g. the Chamfer distance.

* :func:`pairwise_chamfer`: the Chamfer distance (:func:`.geometry.chamfer_distance`) of every
  pair of two sets of clouds, ``[N, M]``;
* :func:`set_measures`: from the distances between reference items ``R`` and generated items
  ``G`` (``d_rg [R, G]``, ``d_gg [G, G]``, ``d_rr [R, R]``):

  - ``mmd``: minimum matching distance, the mean over reference items of the distance to the
    nearest generated one (lower: the real items are matched closely);
  - ``coverage``: the share of reference items that are the nearest reference of at least one
    generated item (higher: no mode is missed);
  - ``1nna``: leave-one-out 1-nearest-neighbour accuracy of telling generated from reference
    items in the union of the two sets (0.5 is ideal for two sets of one size; 0 when every item
    has a twin in the other set; 1 when the sets are told apart perfectly).

The same measures in embedding space (L2 distances) are :func:`nf2vec_core.tasks.generation.set_scores`.
"""
from __future__ import annotations

import torch

from .geometry import MAX_ELEMENTS, chamfer_distance

__all__ = ["pairwise_chamfer", "set_measures"]


def pairwise_chamfer(a: torch.Tensor, b: torch.Tensor, max_elements: int = MAX_ELEMENTS) -> torch.Tensor:
    """Chamfer distance ``[N, M]`` between every cloud of ``a [N, P, 3]`` and every cloud of
    ``b [M, Q, 3]``, computed in blocks of pairs of at most ``max_elements`` point distances."""
    if a.ndim != 3 or b.ndim != 3 or a.shape[2] != b.shape[2]:
        raise ValueError(f"pairwise_chamfer: expected clouds [N,P,D] and [M,Q,D], got {tuple(a.shape)}, "
                         f"{tuple(b.shape)}")
    n, m = a.shape[0], b.shape[0]
    out = a.new_zeros((n, m), dtype=torch.float32)
    if n == 0 or m == 0:
        return out
    pairs = max(1, max_elements // max(1, a.shape[1] * b.shape[1]))
    ia, ib = torch.meshgrid(torch.arange(n), torch.arange(m), indexing="ij")
    ia, ib = ia.reshape(-1), ib.reshape(-1)
    flat = out.view(-1)
    for s in range(0, n * m, pairs):
        sel = slice(s, s + pairs)
        flat[sel] = chamfer_distance(a[ia[sel]], b[ib[sel]]).float()
    return out


def set_measures(d_rg: torch.Tensor, d_gg: torch.Tensor, d_rr: torch.Tensor) -> dict[str, float]:
    """MMD, coverage and 1-NNA (module docs) from the distances reference-to-generated ``[R, G]``,
    generated-to-generated ``[G, G]`` and reference-to-reference ``[R, R]``."""
    r, g = d_rg.shape
    if r < 1 or g < 1 or tuple(d_gg.shape) != (g, g) or tuple(d_rr.shape) != (r, r):
        raise ValueError(f"set_measures: need d_rg [R>=1, G>=1], d_gg [G, G], d_rr [R, R]; got "
                         f"{tuple(d_rg.shape)}, {tuple(d_gg.shape)}, {tuple(d_rr.shape)}")
    mmd = float(d_rg.min(1).values.mean())
    coverage = float(torch.unique(d_rg.argmin(0)).numel() / r)
    d = torch.cat([torch.cat([d_gg, d_rg.T], 1), torch.cat([d_rg, d_rr], 1)]).float()   # [G + R, G + R]
    d.fill_diagonal_(float("inf"))
    is_gen = torch.arange(g + r) < g
    nna = float((is_gen[d.argmin(1)] == is_gen).float().mean())
    return {"mmd": mmd, "coverage": coverage, "1nna": nna}

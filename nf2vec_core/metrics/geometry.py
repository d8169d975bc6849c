"""Geometry metrics, batched over a leading dimension ``B`` (torch, any device).

* ``chamfer_distance(a, b)``: the symmetric Chamfer distance of paper 000 / inr2vec:
  ``mean_i min_j |a_i - b_j|^2 + mean_j min_i |b_j - a_i|^2`` (squared distances; ``squared=False``
  uses Euclidean distances instead).
* ``f_score(a, b, t)``: harmonic mean of precision (fraction of ``a`` within ``t`` of ``b``) and
  recall (fraction of ``b`` within ``t`` of ``a``) — Tatarchenko et al. 2019 (paper 000 ref. [59]).
* ``iou(pred, gt)``: |pred ∧ gt| / |pred ∨ gt| of boolean occupancies (1 when both are empty).
"""
from __future__ import annotations

import torch


def nearest_sq_dist(a: torch.Tensor, b: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """For each point of ``a [B,N,3]``: squared distance to its nearest point of ``b [B,M,3]``."""
    out = []
    for s in range(0, a.shape[1], chunk):
        d = torch.cdist(a[:, s:s + chunk].float(), b.float())
        out.append(d.min(dim=2).values.pow(2))
    return torch.cat(out, dim=1)


def chamfer_distance(a: torch.Tensor, b: torch.Tensor, squared: bool = True) -> torch.Tensor:
    """Symmetric Chamfer distance ``[B]`` between clouds ``a [B,N,3]`` and ``b [B,M,3]``."""
    da, db = nearest_sq_dist(a, b), nearest_sq_dist(b, a)
    if not squared:
        da, db = da.sqrt(), db.sqrt()
    return da.mean(1) + db.mean(1)


def f_score(a: torch.Tensor, b: torch.Tensor, threshold: float = 0.01) -> torch.Tensor:
    """F-score ``[B]`` at distance ``threshold`` between prediction ``a`` and ground truth ``b``."""
    t2 = threshold * threshold
    precision = (nearest_sq_dist(a, b) <= t2).float().mean(1)
    recall = (nearest_sq_dist(b, a) <= t2).float().mean(1)
    return torch.where(precision + recall > 0, 2 * precision * recall / (precision + recall).clamp_min(1e-12),
                       torch.zeros_like(precision))


def iou(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """IoU ``[B]`` of boolean tensors ``[B, ...]`` (1 where both are empty)."""
    p, g = pred.reshape(pred.shape[0], -1).bool(), gt.reshape(gt.shape[0], -1).bool()
    inter = (p & g).sum(1).float()
    union = (p | g).sum(1).float()
    return torch.where(union > 0, inter / union.clamp_min(1), torch.ones_like(union))

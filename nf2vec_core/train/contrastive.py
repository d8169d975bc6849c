"""The SigLIP loss between two batches of embeddings of positive pairs (Zhai et al. 2023; Ballerini
et al. 2025, "Embed Any NeRF", Eq. 3), with its learnable scale and bias.

Pair ``i`` is ``(x_i, y_i)`` (e.g. the MLP and the tri-plane NeRF of one object); every other
``(x_i, y_j)`` is a negative. With ``x``, ``y`` L2-normalised,
``logits_ij = exp(t') <x_i, y_j> + b`` and the loss is
``-1/B sum_ij log sigmoid(z_ij logits_ij)`` (``z = +1`` on the pairs, ``-1`` elsewhere;
:func:`nf2vec_core.train.losses.siglip_loss`). ``t'`` and ``b`` start at ``log 10`` and ``-10``,
as in both papers.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .losses import siglip_loss


class SigLIPLoss(nn.Module):
    """``forward(x [B, D], y [B, D]) -> scalar``; parameters ``log_scale`` (``t'``) and ``bias`` (``b``)."""

    def __init__(self, log_scale: float = math.log(10.0), bias: float = -10.0) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(float(log_scale)))
        self.bias = nn.Parameter(torch.tensor(float(bias)))

    def logits(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``[B, B]`` pair scores ``exp(t') <x_i, y_j> + b`` of the normalised embeddings."""
        if x.dim() != 2 or x.shape != y.shape:
            raise ValueError(f"SigLIPLoss: expected two [B, D] batches of the same shape, got "
                             f"{tuple(x.shape)} and {tuple(y.shape)}")
        return F.normalize(x, dim=-1) @ F.normalize(y, dim=-1).T * self.log_scale.exp() + self.bias

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return siglip_loss(self.logits(x, y))


__all__ = ["SigLIPLoss"]

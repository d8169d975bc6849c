"""Image metrics."""
from __future__ import annotations

import torch


def psnr(pred: torch.Tensor, gt: torch.Tensor, max_val: float = 1.0) -> torch.Tensor:
    """PSNR in dB ``[B]`` of ``pred``/``gt`` ``[B, ...]`` with peak ``max_val`` (capped at 100 dB)."""
    mse = (pred.float() - gt.float()).pow(2).reshape(pred.shape[0], -1).mean(1)
    return (10 * torch.log10(max_val ** 2 / mse.clamp_min(1e-10))).clamp(max=100.0)

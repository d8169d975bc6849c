"""Image metrics, batched over a leading dimension ``B`` (torch, any device)."""
from __future__ import annotations

import torch

MAX_PSNR = 100.0


def psnr(pred: torch.Tensor, gt: torch.Tensor, max_val: float = 1.0) -> torch.Tensor:
    """PSNR in dB ``[B]``: ``10 log10(max_val^2 / MSE)`` per item of ``pred``/``gt`` ``[B, ...]``
    (MSE over all the other dimensions; capped at 100 dB for identical images)."""
    if pred.shape != gt.shape:
        raise ValueError(f"psnr: shapes differ, {tuple(pred.shape)} vs {tuple(gt.shape)}")
    diff = pred.double() - gt.double() if pred.dtype == torch.float64 else pred.float() - gt.float()
    mse = diff.pow(2).reshape(pred.shape[0], -1).mean(1)
    return (10 * torch.log10(max_val ** 2 / mse.clamp_min(1e-10))).clamp(max=MAX_PSNR)

"""Training losses of the nf2vec decoder by field kind.

Targets are GROUND-TRUTH FIELD VALUES in their natural units (what ``data.prepare`` stores):

* ``udf``: unsigned distance. Clipped at ``clip`` (0.1) and divided by it to ``[0, 1]``; the decoder
  output is a logit, trained with BCE (inr2vec / paper 000); field value ``sigmoid(raw) * clip``.
* ``sdf``: signed distance (negative inside). L1 between the raw output and the SDF, both clipped
  to ``[-clip, clip]`` (DeepSDF; see :func:`clipped_l1`); field value ``raw`` (unclipped).
* ``occupancy``: 0/1 (or soft) occupancy. BCE on logits, or the sigmoid focal loss
  (``occupancy_loss="focal"``, Lin et al. 2017, with ``focal_alpha``/``focal_gamma``); field value
  the probability ``sigmoid(raw)``.
* ``pixels``: intensities in ``[0, 1]``; MSE on the raw output; field value ``raw``.

Raw output -> field value per kind: :func:`nf2vec_core.fields.kinds.field_prediction`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..fields.kinds import check_kind


@dataclass(frozen=True)
class LossConfig:
    """Loss options: distance clip (UDF/SDF), occupancy loss and focal parameters."""

    clip: float = 0.1
    occupancy_loss: Literal["bce", "focal"] = "bce"
    focal_alpha: float = 0.25   # weight of the positive (occupied) class; < 0 disables
    focal_gamma: float = 2.0

    def __post_init__(self) -> None:
        if not float(self.clip) > 0:
            raise ConfigError(f"loss.clip: must be > 0, got {self.clip}")
        if self.occupancy_loss not in ("bce", "focal"):
            raise ConfigError(f"loss.occupancy_loss: expected 'bce' or 'focal', got {self.occupancy_loss!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LossConfig":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def sigmoid_focal_loss(logits: torch.Tensor, target: torch.Tensor, alpha: float = 0.25,
                       gamma: float = 2.0) -> torch.Tensor:
    """Mean sigmoid focal loss ``-alpha_t (1 - p_t)^gamma log p_t`` over all elements."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = p * target + (1 - p) * (1 - target)
    loss = ce * (1 - p_t).pow(gamma)
    if alpha >= 0:
        loss = loss * (alpha * target + (1 - alpha) * (1 - target))
    return loss.mean()


def clipped_l1(pred: torch.Tensor, target: torch.Tensor, clip: float) -> torch.Tensor:
    """Mean ``|clamp(pred) - clamp(target)|`` (DeepSDF), written so the loss never has a zero gradient.

    Where ``|target| < clip`` the loss is ``|pred - target|`` (a plain clamp of ``pred`` would stop
    all gradient once ``pred`` overshoots the band); where the target is saturated (``>= clip``)
    only the distance of ``pred`` below ``clip`` counts, and symmetrically for ``<= -clip``.
    Equal to the DeepSDF value whenever ``|pred| <= clip``.
    """
    t = target.clamp(-clip, clip)
    err = (pred - t).abs()
    err = torch.where(target >= clip, torch.relu(clip - pred), err)
    err = torch.where(target <= -clip, torch.relu(pred + clip), err)
    return err.mean()


def field_loss(kind: str, pred: torch.Tensor, target: torch.Tensor,
               cfg: LossConfig | None = None) -> torch.Tensor:
    """Scalar mean loss between raw decoder outputs ``pred [..., c]`` and field values ``target``."""
    cfg = cfg or LossConfig()
    check_kind(kind)
    if pred.shape != target.shape:
        raise ValueError(f"field_loss: pred {tuple(pred.shape)} and target {tuple(target.shape)} differ")
    pred, target = pred.float(), target.float()
    if kind == "udf":
        return F.binary_cross_entropy_with_logits(pred, target.clamp(0, cfg.clip) / cfg.clip)
    if kind == "sdf":
        return clipped_l1(pred, target, cfg.clip)
    if kind == "occupancy":
        if cfg.occupancy_loss == "focal":
            return sigmoid_focal_loss(pred, target, cfg.focal_alpha, cfg.focal_gamma)
        return F.binary_cross_entropy_with_logits(pred, target)
    return F.mse_loss(pred, target)


def siglip_loss(logits: torch.Tensor) -> torch.Tensor:
    """SigLIP's pairwise sigmoid loss (Zhai et al. 2023; paper 003 Eq. 3) of ``logits [B, B]``.

    ``logits[i, j]`` scores view ``i`` of one batch against view ``j`` of the other; the diagonal
    holds the positive pairs (two views of the same NF), every other entry a negative one. Returns
    ``-sum_ij log sigmoid(z_ij * logits_ij) / B`` with ``z = +1`` on the diagonal, ``-1`` elsewhere.
    """
    if logits.dim() != 2 or logits.shape[0] != logits.shape[1]:
        raise ValueError(f"siglip_loss: logits must be [B, B], got {tuple(logits.shape)}")
    sign = 2.0 * torch.eye(logits.shape[0], device=logits.device, dtype=logits.dtype) - 1.0
    return -F.logsigmoid(sign * logits).sum() / logits.shape[0]


"""Sampling and compositing settings of NeRF volume rendering (:mod:`.render`, :mod:`.occgrid`)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from .arch import NerfArch


@dataclass(frozen=True)
class RenderConfig:
    """Sampling and compositing settings (the ``render`` sub-section of ``fit_nerf``)."""

    samples_per_ray: int = 64            # batched path: intervals per ray inside the box
    near: float = 0.0
    far: float = 1.0e3
    clip_to_aabb: bool = True            # tighten near/far to the NeRF's scene box
    compositor: Literal["nerfacc", "reference"] = "nerfacc"
    estimator: Literal["auto", "batched", "occgrid"] = "auto"
    # occupancy grid (estimator occgrid, or auto on CUDA)
    occ_resolution: int = 128
    occ_step_size: float = 0.0           # marching step; 0 = box diagonal / 512
    occ_threshold: float = 0.01
    occ_update_every: int = 16
    occ_warmup_steps: int = 256
    occ_ema_decay: float = 0.95
    alpha_threshold: float = 0.0
    early_stop_eps: float = 1.0e-4

    def __post_init__(self) -> None:
        if self.samples_per_ray < 1:
            raise ValueError(f"render.samples_per_ray: must be >= 1, got {self.samples_per_ray}")
        if not 0.0 <= self.near < self.far:
            raise ValueError(f"render: need 0 <= near < far, got {self.near}, {self.far}")
        if self.compositor not in ("nerfacc", "reference"):
            raise ValueError(f"render.compositor: expected 'nerfacc' or 'reference', got {self.compositor!r}")
        if self.estimator not in ("auto", "batched", "occgrid"):
            raise ValueError(f"render.estimator: expected auto, batched or occgrid, got {self.estimator!r}")

    def step_size(self, arch: NerfArch) -> float:
        if self.occ_step_size > 0:
            return self.occ_step_size
        ext = [arch.aabb[i + 3] - arch.aabb[i] for i in range(3)]
        return math.sqrt(sum(e * e for e in ext)) / 512.0

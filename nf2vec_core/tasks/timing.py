"""Helpers for the latency study of paper 000 Fig. 11."""
from __future__ import annotations

from typing import Callable

import torch

from ..decoders.reconstruct import nf_field_fn
from ..nf.layout import ArchSpec


def nf_sampler(spec: ArchSpec, theta: torch.Tensor, kind: str, clip: float,
               oversample: int = 4, seed: int = 0) -> Callable[[int], torch.Tensor]:
    """``sample(n) -> [n, 3]``: points on the surface of ONE NF, the cheap way a user would get a
    cloud out of an NF to feed a point-based network: evaluate the field at ``oversample * n``
    uniform points and keep the ``n`` closest to the surface (|occupancy - 0.5|, |SDF|, UDF)."""
    field = nf_field_fn(spec, theta[:1], kind, clip)
    level = 0.5 if kind == "occupancy" else 0.0
    gen = torch.Generator().manual_seed(seed)

    def sample(n: int) -> torch.Tensor:
        with torch.no_grad():
            cand = torch.rand(1, oversample * n, 3, generator=gen) * 2 - 1
            score = (field(cand)[0] - level).abs()
            return cand[0, score.topk(n, largest=False).indices]

    return sample

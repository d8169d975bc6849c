"""A plain MLP on the flattened NF weights: the non-invariant baseline of paper 004 Table 1.

The flat vector ``theta [B, P]`` (layout of :mod:`nf2vec_core.nf.layout`) goes straight into
``Linear -> LayerNorm -> ReLU -> Dropout`` blocks and a linear head. It only works when the same
coordinate plays the same role in every NF, i.e. for NFs fitted from a shared initialisation
(paper 000 §VIII, paper 004 §4); with random initialisations the permutation symmetries scramble
the coordinates. With ``standardize`` each coordinate is centred and scaled with the training
set's mean and standard deviation (set by :meth:`FlatMLPClassifier.fit_input_stats`); constant
coordinates (e.g. the frozen Fourier matrix of an RFFNet dataset with shared init) become 0.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from ..errors import BadInputError, ConfigError
from ..nf.layout import ArchSpec


@dataclass(frozen=True)
class FlatMLPConfig:
    """The flat-weights MLP (the ``weightspace.mlp`` params section)."""

    hidden: tuple[int, ...] = (512, 256)
    dropout: float = 0.1
    standardize: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if any(h < 1 for h in self.hidden):
            raise ConfigError(f"weightspace.mlp.hidden: widths must be >= 1, got {self.hidden}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ConfigError(f"weightspace.mlp.dropout: must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d


class FlatMLPClassifier(nn.Module):
    """MLP classifier on flat NF vectors: ``[B, P]`` -> logits ``[B, C]``.

    Args:
        spec: NF architecture (only its parameter count ``P`` matters).
        num_classes: ``C >= 2``.
        cfg: widths, dropout, standardisation.
    """

    def __init__(self, spec: ArchSpec, num_classes: int, cfg: FlatMLPConfig = FlatMLPConfig()) -> None:
        super().__init__()
        if int(num_classes) < 2:
            raise ConfigError(f"weightspace: need at least 2 classes, got {num_classes}")
        self.spec, self.cfg, self.num_classes = spec, cfg, int(num_classes)
        p = spec.num_params
        layers: list[nn.Module] = []
        prev = p
        for width in cfg.hidden:
            layers += [nn.Linear(prev, width), nn.LayerNorm(width), nn.ReLU(inplace=True)]
            if cfg.dropout > 0:
                layers.append(nn.Dropout(cfg.dropout))
            prev = width
        layers.append(nn.Linear(prev, self.num_classes))
        self.net = nn.Sequential(*layers)
        self.register_buffer("shift", torch.zeros(p))
        self.register_buffer("inv_scale", torch.ones(p))

    def _check(self, theta: torch.Tensor) -> None:
        if theta.dim() != 2 or theta.shape[1] != self.spec.num_params:
            raise BadInputError(None, f"FlatMLPClassifier: expected NF vectors [B, {self.spec.num_params}], "
                                      f"got {tuple(theta.shape)}")

    @torch.no_grad()
    def fit_input_stats(self, theta: torch.Tensor) -> None:
        """Per-coordinate mean/std of training vectors ``theta [N, P]`` (no-op unless
        ``cfg.standardize``); coordinates with std below 1e-8 are only centred."""
        if not self.cfg.standardize:
            return
        self._check(theta)
        t = theta.to(self.shift.device, torch.float64)
        mean, std = t.mean(0), t.std(0, unbiased=False)
        self.shift.copy_(mean)
        self.inv_scale.copy_(torch.where(std > 1e-8, 1.0 / std, torch.ones_like(std)))

    def forward(self, theta: torch.Tensor) -> torch.Tensor:
        self._check(theta)
        return self.net((theta.to(self.shift.dtype) - self.shift) * self.inv_scale)


__all__ = ["FlatMLPConfig", "FlatMLPClassifier"]

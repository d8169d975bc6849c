"""The field kinds and what a raw network output means for each (fitted NFs and the nf2vec decoder).

* ``udf``: unsigned distance, clipped at ``clip``; the raw output is a logit, the field value
  ``sigmoid(raw) * clip``.
* ``sdf``: signed distance (negative inside); the field value is the raw output.
* ``occupancy``: the raw output is a logit, the field value the probability ``sigmoid(raw)``.
* ``pixels``: intensities in ``[0, 1]``; the field value is the raw output.

The fitted NFs (:mod:`nf2vec_core.fitting.quality`) and the nf2vec decoder both go through
:func:`field_prediction`, so their fields are comparable; the training losses per kind are in
:mod:`nf2vec_core.train.losses`.
"""
from __future__ import annotations

import torch

from ..errors import ConfigError

KINDS: tuple[str, ...] = ("udf", "sdf", "occupancy", "pixels")


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ConfigError(f"field kind: unknown {kind!r}; expected one of {KINDS}")
    return kind


def field_prediction(kind: str, raw: torch.Tensor, clip: float = 0.1) -> torch.Tensor:
    """Raw outputs -> field values: UDF ``sigmoid*clip``, occupancy probability, SDF/pixels as is."""
    check_kind(kind)
    if kind == "udf":
        return torch.sigmoid(raw) * clip
    if kind == "occupancy":
        return torch.sigmoid(raw)
    return raw

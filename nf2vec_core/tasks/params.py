"""Params sections of the downstream stages that have no richer config object of their own."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetrievalParams:
    """The ``retrieval`` section."""

    ks: tuple[int, ...] = (1, 5, 10)
    seed: int = 0


@dataclass(frozen=True)
class TimingParams:
    """The ``timing`` section: points per cloud for the PointNet baseline, and the latency study
    of paper 000 Fig. 11 (nf2vec encode+classify vs PointNet on N points vs PointNet after
    sampling N points from the NF)."""

    pointnet_points: int = 1024
    points: tuple[int, ...] = (2048, 4096, 8192, 16384, 32768, 65536)
    repeats: int = 10

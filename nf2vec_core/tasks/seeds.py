"""Headline figures over several seeds: run one evaluation per seed and report mean ± std.

A single seed's accuracy is one draw of the classifier's initialisation and batch order; the
``evaluation.seeds`` section of params.yaml lists the seeds every headline classifier is trained
with, and the metrics carry the mean, the standard deviation (population, ``ddof=0``) and each
seed's value.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import ConfigError


@dataclass(frozen=True)
class EvaluationParams:
    """The ``evaluation`` section: seeds of the headline classifiers (at least one, distinct, ≥ 0)."""

    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])

    def __post_init__(self) -> None:
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ConfigError(f"param 'evaluation.seeds' must list distinct non-negative seeds, got {self.seeds}")


def mean_std(values: Sequence[float]) -> dict[str, Any]:
    """``{"mean", "std", "values"}`` of per-seed values."""
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "std": float(v.std()), "values": [float(x) for x in v]}


def mean_of_dicts(dicts: Sequence[Mapping[str, float | None]]) -> dict[str, float | None]:
    """Key-wise mean of dicts with the same keys (``None`` where any value is ``None``)."""
    out: dict[str, float | None] = {}
    for k in dicts[0]:
        vals = [d[k] for d in dicts]
        out[k] = None if any(v is None for v in vals) else float(np.mean(vals))
    return out


def over_seeds(run: Callable[[int], dict[str, Any]], seeds: Sequence[int]) -> list[dict[str, Any]]:
    """``[run(seed) for seed in seeds]``, in order (the first result is the one to keep as a model)."""
    return [run(int(s)) for s in seeds]


__all__ = ["EvaluationParams", "mean_std", "mean_of_dicts", "over_seeds"]

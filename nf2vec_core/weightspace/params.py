"""The ``weightspace`` params section: which classifiers to train on raw NF weights, their sizes,
the shared optimisation settings and the size of the mode-connectivity / weight-matching study.

Loaded strictly with ``nf2vec_core.config.load_section(params, "weightspace", WeightspaceParams)``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..errors import ConfigError
from .gnn import GNNConfig
from .mlp import FlatMLPConfig
from .train import MODEL_KINDS, TrainConfig


@dataclass(frozen=True)
class WeightspaceParams:
    """``models``: classifiers to train (``gnn`` = paper 004's graph baseline, ``mlp`` = flat
    weights). ``seeds``: each classifier is trained once per seed (initialisation and batch order;
    empty: once, with ``train.seed``). ``connectivity_pairs``: NF pairs of the linear-mode-connectivity /
    weight-matching study (0 = skip); ``connectivity_steps``: interpolation points per pair
    (endpoints included)."""

    models: tuple[Literal["gnn", "mlp"], ...] = ("gnn", "mlp")
    gnn: GNNConfig = field(default_factory=GNNConfig)
    mlp: FlatMLPConfig = field(default_factory=FlatMLPConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    seeds: tuple[int, ...] = ()
    connectivity_pairs: int = 4
    connectivity_steps: int = 11

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", tuple(self.models))
        object.__setattr__(self, "seeds", tuple(int(x) for x in self.seeds))
        if len(set(self.seeds)) != len(self.seeds) or any(x < 0 for x in self.seeds):
            raise ConfigError(f"weightspace.seeds: must be distinct non-negative seeds, got {list(self.seeds)}")
        if not self.models:
            raise ConfigError("weightspace.models: list at least one classifier (gnn, mlp)")
        for m in self.models:
            if m not in MODEL_KINDS:
                raise ConfigError(f"weightspace.models: unknown classifier {m!r}; expected one of {list(MODEL_KINDS)}")
        if len(set(self.models)) != len(self.models):
            raise ConfigError(f"weightspace.models: duplicate entries in {list(self.models)}")
        if int(self.connectivity_pairs) < 0:
            raise ConfigError(f"weightspace.connectivity_pairs: must be >= 0, got {self.connectivity_pairs}")
        if int(self.connectivity_steps) < 2:
            raise ConfigError(f"weightspace.connectivity_steps: must be >= 2, got {self.connectivity_steps}")

    @property
    def run_seeds(self) -> tuple[int, ...]:
        """The seeds the classifiers are trained with: ``seeds``, or ``(train.seed,)`` when empty."""
        return self.seeds or (int(self.train.seed),)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["models"] = list(self.models)
        d["seeds"] = list(self.seeds)
        d["mlp"] = self.mlp.to_dict()
        return d


__all__ = ["WeightspaceParams"]

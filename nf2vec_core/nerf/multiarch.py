"""Neural datasets of one set of objects in several NeRF architectures (Ballerini et al. 2025,
"Embed Any NeRF", §4 and appendix B): every object of the embedded multi-view dataset fitted as an
MLP NeRF (``MLP``), as a tri-plane NeRF (``TRI``; both together: the training set ``BOTH``) and as
the unseen-architecture variants named in ``variants`` (:data:`~.arch.ARCH_VARIANTS`: ``MLP-2L``,
``MLP-32H``, ``TRI-2L``, ``TRI-32H``, ``TRI-16W``, ``TRI-8C``, each built on the base of its kind).

Layout: one NeRF store (:func:`.dataset.fit_nerf_dataset`, resumable) per architecture under
``out_root/<name>/``, all fitted from the same views folder, so they hold the same object ids,
classes and splits in the same row order. :func:`load_multiarch` reads a split of several of them
back with that alignment checked.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import pandas as pd
import torch

from ..errors import BadInputError, ConfigError
from ..validation import one_of
from .arch import ARCH_VARIANTS, NerfArch, arch_variant
from .dataset import NerfDataset, fit_nerf_dataset
from .fit import NerfFitConfig

BASE_NAMES: dict[str, str] = {"mlp": "MLP", "triplane": "TRI"}
"""Dataset name of each base architecture, by NeRF kind."""


@dataclass(frozen=True)
class AnyNerfDataParams:
    """The ``anynerf.data`` section: the two base architectures and the unseen variants to fit."""

    mlp: NerfArch = field(default_factory=lambda: NerfArch(kind="mlp"))            # MLP: 3 x 64 ReLU
    triplane: NerfArch = field(default_factory=lambda: NerfArch(kind="triplane"))  # TRI: 32^2 x 16 planes, 3 x 64 sine MLP
    variants: tuple[str, ...] = field(default=(), metadata={"rule": one_of(ARCH_VARIANTS)})  # e.g. [MLP-2L, TRI-16W]

    def __post_init__(self) -> None:
        if self.mlp.kind != "mlp" or self.triplane.kind != "triplane":
            raise ValueError(f"param 'mlp' / 'triplane': need kinds mlp and triplane, got {self.mlp.kind!r} and "
                             f"{self.triplane.kind!r}")
        if len(set(self.variants)) != len(self.variants):
            raise ValueError(f"param 'variants': repeated names in {list(self.variants)}")

    def archs(self) -> dict[str, NerfArch]:
        """Dataset name -> architecture: ``MLP``, ``TRI``, then the variants in order."""
        base = {"mlp": self.mlp, "triplane": self.triplane}
        out = {BASE_NAMES[k]: a for k, a in base.items()}
        for name in self.variants:
            out[name] = arch_variant(base[ARCH_VARIANTS[name][0]], name)
        return out


def fit_arch_datasets(views_dir: Path, out_root: Path, p: AnyNerfDataParams, cfg: NerfFitConfig, *,
                      names: Sequence[str] | None = None, shard_size: int = 64, device: torch.device | str = "cpu",
                      progress: bool = True) -> dict[str, dict]:
    """Fit every object of ``views_dir`` in each architecture of ``p`` (or only ``names`` among
    them) into ``out_root/<name>/``; the fitting summary of each."""
    archs = p.archs()
    chosen = list(archs) if names is None else list(names)
    unknown = [n for n in chosen if n not in archs]
    if unknown:
        raise ConfigError(f"anynerf datasets: unknown architecture {unknown[0]!r}; expected one of {list(archs)}")
    return {name: fit_nerf_dataset(views_dir, Path(out_root) / name, archs[name], cfg, shard_size=shard_size,
                                   device=device, progress=progress)
            for name in chosen}


@dataclass
class MultiArchSplit:
    """One split of several architectures' stores: ``index`` (id, class_name, class_id, split),
    ``labels [N]``, ``classes``, and per architecture name its ``archs[name]`` and ``thetas[name] [N, P]``
    (row ``i`` = object ``index.id[i]`` in every architecture)."""

    index: pd.DataFrame
    labels: torch.Tensor
    classes: list[str]
    archs: dict[str, NerfArch]
    thetas: dict[str, torch.Tensor]


def load_multiarch(root: Path, names: Sequence[str], split: str | None = None) -> MultiArchSplit:
    """The NeRFs of ``split`` (None: all) of the stores ``root/<name>`` for ``names``, checked to
    hold the same objects, classes and splits in the same order."""
    if not names:
        raise ConfigError("anynerf datasets: no architecture names given")
    sets = {n: NerfDataset(Path(root) / n) for n in names}
    first = sets[names[0]]
    cols = ["id", "class_name", "class_id", "split"]
    for n, ds in sets.items():
        if not ds.index[cols].equals(first.index[cols]) or ds.classes != first.classes:
            raise BadInputError(Path(root) / n, f"its objects, classes or splits differ from those of {names[0]!r} "
                                                "(fit every architecture from the same views)")
    rows = list(range(len(first.index))) if split is None else first.split_rows(split)
    index = first.index.iloc[rows].reset_index(drop=True)[cols]
    return MultiArchSplit(index, torch.as_tensor(index["class_id"].to_numpy(copy=True)), list(first.classes),
                          {n: ds.arch for n, ds in sets.items()}, {n: ds.params(rows) for n, ds in sets.items()})


__all__ = ["AnyNerfDataParams", "BASE_NAMES", "fit_arch_datasets", "MultiArchSplit", "load_multiarch"]

"""From prepared ground truth (``data.prepare`` output) to fitting targets and evaluation sets.

Per field kind (values are what the NF regresses; ``loss`` the fitting loss):

* ``occupancy``: all voxel centres of the ``R^3`` grid (shared by every NF), values 0/1, BCE on
  logits. On-grid = the voxel centres; off-grid = the prepared off-grid points.
* ``sdf``: the query pool, SDF clipped to ``[-clip, clip]``, L1 (the sign decides inside).
* ``udf``: the query pool, UDF clipped at ``clip`` and divided by it (in ``[0, 1]``), BCE on
  logits (inr2vec/nf2vec); the field value is ``sigmoid(out) * clip``.
* ``pixels``: pixel centres in ``[-1,1]^2`` (shared), intensities in ``[0,1]``, MSE.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
import torch
from safetensors import safe_open

from ..errors import BadInputError
from .engine import FitTargets

LOSS_BY_KIND = {"occupancy": "bce", "sdf": "l1", "udf": "bce", "pixels": "mse"}


def voxel_grid_centers(resolution: int) -> torch.Tensor:
    """Voxel centres of an ``R^3`` grid over ``[-1,1]^3``, ``[R^3, 3]``, index order (x, y, z) C-major."""
    c = (torch.arange(resolution, dtype=torch.float32) + 0.5) / resolution * 2 - 1
    return torch.stack(torch.meshgrid(c, c, c, indexing="ij"), dim=-1).reshape(-1, 3)


def pixel_centers(h: int, w: int) -> torch.Tensor:
    """Pixel centres ``[H*W, 2]`` in ``[-1,1]^2``, row-major, as (x, y) = (column, row)."""
    ys = (torch.arange(h, dtype=torch.float32) + 0.5) / h * 2 - 1
    xs = (torch.arange(w, dtype=torch.float32) + 0.5) / w * 2 - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], dim=-1).reshape(-1, 2)


@dataclass
class PreparedData:
    """Lazy reader of a prepared-data directory (slices of ``fields.safetensors`` on demand)."""

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        for name in ("meta.json", "index.csv", "fields.safetensors"):
            if not (self.root / name).is_file():
                raise BadInputError(self.root / name, "not found: run the preprocess stage first")

    @cached_property
    def meta(self) -> dict:
        return json.loads((self.root / "meta.json").read_text())

    @cached_property
    def index(self) -> pd.DataFrame:
        return pd.read_csv(self.root / "index.csv", keep_default_na=False)

    @property
    def kind(self) -> str:
        return self.meta["kind"]

    @cached_property
    def keys(self) -> list[str]:
        with safe_open(str(self.root / "fields.safetensors"), framework="pt") as f:
            return list(f.keys())

    def tensor(self, name: str, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Rows ``start:stop`` of one stored tensor (only those rows are read)."""
        with safe_open(str(self.root / "fields.safetensors"), framework="pt") as f:
            if name not in f.keys():
                raise KeyError(f"{self.root}: prepared data has no tensor {name!r}")
            sl = f.get_slice(name)
            return sl[start:stop if stop is not None else sl.get_shape()[0]]

    def in_out_dims(self) -> tuple[int, int]:
        if self.kind == "pixels":
            return 2, int(self.tensor("images", 0, 1).shape[-1])
        return 3, 1


def fit_targets(data: PreparedData, start: int, stop: int) -> FitTargets:
    """Fitting targets for items ``start:stop``."""
    kind, clip = data.kind, float(data.meta.get("clip", 0.1))
    if kind == "occupancy":
        vox = data.tensor("voxels", start, stop)
        r = vox.shape[-1]
        return FitTargets(voxel_grid_centers(r), vox.reshape(vox.shape[0], -1, 1).float())
    if kind == "pixels":
        img = data.tensor("images", start, stop)
        n, h, w, c = img.shape
        return FitTargets(pixel_centers(h, w), img.reshape(n, h * w, c).float())
    coords, values = data.tensor("coords", start, stop), data.tensor("values", start, stop).float()
    if kind == "sdf":
        return FitTargets(coords, values.clamp(-clip, clip).unsqueeze(-1))
    return FitTargets(coords, (values.clamp(0, clip) / clip).unsqueeze(-1))


def field_values(kind: str, raw: torch.Tensor, clip: float) -> torch.Tensor:
    """NF raw output -> field value (occupancy probability, SDF, UDF, intensity)."""
    if kind == "occupancy":
        return torch.sigmoid(raw)
    if kind == "udf":
        return torch.sigmoid(raw) * clip
    return raw

"""Reader of a prepared-data directory (the ``preprocess`` stage's output, written by
:mod:`nf2vec_core.data.prepare`; layout in ``docs/neural_dataset_format.md``, "prepared data")."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
import torch

from ..errors import BadInputError
from .io import open_tensors


@dataclass
class PreparedData:
    """Lazy reader of a prepared-data directory (slices of ``fields.safetensors`` on demand).

    ``rows`` (optional) makes it a view of those items only, in that order: ``index`` holds their
    rows and ``tensor(name, a, b)`` returns items ``rows[a:b]`` (e.g. the training split alone).
    """

    root: Path
    rows: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        for name in ("meta.json", "index.csv", "fields.safetensors"):
            if not (self.root / name).is_file():
                raise BadInputError(self.root / name, "not found: run the preprocess stage first")
        if self.rows is not None:
            self.rows = tuple(int(r) for r in self.rows)

    def subset(self, rows) -> "PreparedData":
        """The same data restricted to the given item rows (positions in this object's index)."""
        return PreparedData(self.root, rows if self.rows is None else [self.rows[int(r)] for r in rows])

    def split_rows(self, splits) -> list[int]:
        """Positions (in ``index``) of the items whose split is one of ``splits``."""
        wanted = set(splits)
        return [i for i, s in enumerate(self.index["split"]) if s in wanted]

    @cached_property
    def meta(self) -> dict:
        return json.loads((self.root / "meta.json").read_text())

    @cached_property
    def index(self) -> pd.DataFrame:
        full = pd.read_csv(self.root / "index.csv", keep_default_na=False)
        return full if self.rows is None else full.iloc[list(self.rows)].reset_index(drop=True)

    @property
    def kind(self) -> str:
        return self.meta["kind"]

    @cached_property
    def keys(self) -> list[str]:
        with open_tensors(self.root / "fields.safetensors", "prepared fields file") as f:
            return list(f.keys())

    def tensor(self, name: str, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Rows ``start:stop`` of one stored tensor (only those rows are read)."""
        with open_tensors(self.root / "fields.safetensors", "prepared fields file") as f:
            if name not in f.keys():
                raise KeyError(f"{self.root}: prepared data has no tensor {name!r}")
            sl = f.get_slice(name)
            if self.rows is None:
                return sl[start:stop if stop is not None else sl.get_shape()[0]]
            sel = self.rows[start:stop]
            if not sel:
                return sl[0:0]
            lo, hi = min(sel), max(sel) + 1     # read the covering block once, then pick
            block = sl[lo:hi]
            return block[torch.as_tensor(sel) - lo]

    def in_out_dims(self) -> tuple[int, int]:
        if self.kind == "pixels":
            return 2, int(self.tensor("images", 0, 1).shape[-1])
        return 3, 1

"""The neural-dataset store: one directory per dataset of fitted NFs.

Layout (``docs/neural_dataset_format.md``)::

    <dir>/arch.json                       ArchSpec + the flat layout (names, shapes, offsets)
    <dir>/init.safetensors                "init" [P] — the shared init ("shared" mode) or the
                                          init of NF 0 ("random" mode; the others derive from
                                          the seed in fit.json)
    <dir>/fit.json                        fit settings, init mode/seed, timings, hardware
    <dir>/index.csv                       one row per NF: id, source, class_name, class_id,
                                          split, shard, row, + fit metrics
    <dir>/shards/params-00000.safetensors "params" [n, P] float32 (rows of index with shard 0)
    <dir>/shards/index-00000.csv          the index rows of that shard (a resumed or split run
                                          rebuilds index.csv from these)
    <dir>/rejected.csv                    items skipped with the reason (may be empty)

Every file is written atomically. A shard is complete iff its params file exists; ``index.csv``
is written last. Shards fitted on different machines (``--part i/k``) are merged by copying the
``shards/`` folders together and running :func:`finalize`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
import torch

from ..errors import BadInputError
from ..nf.layout import ArchSpec
from .io import check_matrix, open_tensors, write_csv, write_tensors, write_text

INDEX_COLUMNS = ["id", "source", "class_name", "class_id", "split"]


def shard_params_path(root: Path, shard: int) -> Path:
    return Path(root) / "shards" / f"params-{shard:05d}.safetensors"


def shard_index_path(root: Path, shard: int) -> Path:
    return Path(root) / "shards" / f"index-{shard:05d}.csv"


def write_header(root: Path, spec: ArchSpec, init: torch.Tensor, fit_info: dict) -> None:
    """Write arch.json, init.safetensors and fit.json (idempotent for a resumed run)."""
    root = Path(root)
    arch_path = root / "arch.json"
    if arch_path.exists() and ArchSpec.from_json(arch_path.read_text()) != spec:
        raise BadInputError(arch_path, "an existing neural dataset with a different architecture is "
                                       "in the way; delete it or choose another output directory")
    write_text(arch_path, spec.to_json())
    write_tensors(root / "init.safetensors", {"init": init.reshape(-1).float()})
    write_text(root / "fit.json", json.dumps(fit_info, indent=2, sort_keys=True, default=str) + "\n")


def write_shard(root: Path, shard: int, params: torch.Tensor, rows: pd.DataFrame) -> None:
    """Write one completed shard: parameters ``[n, P]`` and its index rows (params file last)."""
    if params.shape[0] != len(rows):
        raise ValueError("write_shard: params and index rows differ in length")
    if not torch.isfinite(params).all():
        bad = rows["id"].iloc[int((~torch.isfinite(params)).any(1).nonzero()[0])]
        raise BadInputError(bad, "fitted parameters contain NaN/inf (diverged fit; lower fit.lr)")
    rows = rows.assign(shard=shard, row=range(len(rows)))
    write_csv(shard_index_path(root, shard), rows)
    write_tensors(shard_params_path(root, shard), {"params": params.float()},
                  metadata={"n": str(params.shape[0])})


def completed_shards(root: Path) -> set[int]:
    d = Path(root) / "shards"
    if not d.is_dir():
        return set()
    return {int(p.stem.split("-")[1]) for p in d.glob("params-*.safetensors")}


def finalize(root: Path, n_shards: int, rejected: pd.DataFrame | None = None) -> pd.DataFrame:
    """Check that every shard is present and write ``index.csv`` (and ``rejected.csv``)."""
    root = Path(root)
    missing = sorted(set(range(n_shards)) - completed_shards(root))
    if missing:
        raise BadInputError(root, f"neural dataset incomplete: shards {missing[:10]} missing "
                                  f"(run the remaining parts, or copy their shards/ here)")
    index = pd.concat([pd.read_csv(shard_index_path(root, s), keep_default_na=False)
                       for s in range(n_shards)], ignore_index=True)
    write_csv(root / "index.csv", index)
    if rejected is not None:
        write_csv(root / "rejected.csv", rejected)
    return index


@dataclass
class NeuralDataset:
    """Lazy reader of a neural-dataset directory: parameters are read shard by shard on demand."""

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        for name in ("arch.json", "index.csv"):
            if not (self.root / name).is_file():
                raise BadInputError(self.root / name, "not found: not a (complete) neural dataset")

    @cached_property
    def spec(self) -> ArchSpec:
        return ArchSpec.from_json((self.root / "arch.json").read_text())

    @cached_property
    def index(self) -> pd.DataFrame:
        return pd.read_csv(self.root / "index.csv", keep_default_na=False)

    @cached_property
    def fit_info(self) -> dict:
        p = self.root / "fit.json"
        return json.loads(p.read_text()) if p.exists() else {}

    @cached_property
    def init(self) -> torch.Tensor:
        with open_tensors(self.root / "init.safetensors", "initialisation file") as f:
            return f.get_tensor("init")

    def __len__(self) -> int:
        return len(self.index)

    def params(self, rows: "list[int] | torch.Tensor | None" = None) -> torch.Tensor:
        """Parameters ``[n, P]`` of the given index rows (all when None), reading only their shards."""
        idx = self.index if rows is None else self.index.iloc[list(map(int, rows))]
        out = torch.empty(len(idx), self.spec.num_params)
        pos = torch.arange(len(idx))
        for shard, group in idx.groupby("shard", sort=True):
            path = shard_params_path(self.root, int(shard))
            with open_tensors(path, "parameter shard") as f:
                sl = f.get_slice("params")
                shard_rows = torch.from_numpy(group["row"].to_numpy(copy=True))
                lo, hi = int(shard_rows.min()), int(shard_rows.max()) + 1
                check_matrix(path, sl.get_shape(), self.spec.num_params, hi)
                block = sl[lo:hi]
            if not torch.isfinite(block).all():
                raise BadInputError(path, "parameters contain NaN/inf")
            where = pos[torch.as_tensor(idx.index.get_indexer(group.index))]
            out[where] = block[shard_rows - lo]
        return out

    def split_rows(self, split: str) -> list[int]:
        return [int(i) for i in (self.index["split"] == split).to_numpy().nonzero()[0]]


def load_views(root: Path) -> list["NeuralDataset"]:
    """The view datasets under ``root`` (``view1``, ``view2``, ...; see
    :func:`nf2vec_core.fitting.run.fit_views`), in order; empty when there are none."""
    root = Path(root)
    if not root.is_dir():
        return []
    dirs = sorted((d for d in root.glob("view*") if d.is_dir()), key=lambda d: int(d.name[4:]))
    return [NeuralDataset(d) for d in dirs]


def view_params(views: list["NeuralDataset"], ids: list[str]) -> torch.Tensor | None:
    """Parameters ``[K, N, P]`` of the ``K`` views of the items ``ids`` (None without views); every
    view must hold every id (a clear error names the view that lacks one)."""
    if not views:
        return None
    out = []
    for v in views:
        pos = {i: k for k, i in enumerate(v.index["id"])}
        missing = [i for i in ids if i not in pos]
        if missing:
            raise BadInputError(v.root, f"view lacks {len(missing)} items (e.g. {missing[0]!r}); "
                                        f"refit the views for these splits")
        out.append(v.params([pos[i] for i in ids]))
    return torch.stack(out)

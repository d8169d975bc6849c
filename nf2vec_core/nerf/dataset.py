"""NeRF datasets on disk: the embedded multi-view dataset and the NeRF neural-dataset store.

``render_views_dataset`` renders a per-class subset of the procedural shapes of a ``datasets``
entry (the same objects, ids and train/val/test splits as its prepared shape dataset, so that shape
NFs and NeRFs of one object can be paired) into the Blender layout, one folder per object: the
first ``n_per_class`` objects of every class, plus, with ``n_test_per_class``, the first test-split
objects of every class up to that many (a larger test split at the cost of its objects only).

The NeRF store (``fit_nerf_dataset`` / :class:`NerfDataset`), one directory per dataset::

    arch.json                 the NerfArch (kind, sizes, tensor layout)
    init.safetensors          the shared initialisation ``init [P]``
    fit.json                  fitting settings, device and threads (no timings: identical fits give
                              identical bytes; the seconds go to the stage's timings)
    shards/shard_XXXXX.safetensors   ``params [n, P]``, ``rows [n]`` (completed shards only)
    index.csv                 id, class_name, class_id, split, shard, row, psnr, loss (written last)

Fitting is resumable: shards are written atomically as they complete and a rerun skips them.
"""
from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd
import torch
from safetensors.torch import save_file

from ..data.procedural import generate_dataset
from ..errors import BadInputError, ConfigError
from ..store.io import atomic_path, check_matrix, open_tensors, write_csv, write_text
from ..validation import at_least
from .arch import NerfArch, init_nerf_batch
from .blender import ViewSet, read_blender
from .fit import NerfFitConfig, SceneBatch, fit_nerfs
from .synthetic_views import ViewRenderConfig, render_dataset

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class NerfDataParams:
    """The ``nerf.data`` section: which objects are rendered and how."""

    from_dataset: str = "shapes"           # a procedural entry of ``datasets`` (same objects and splits)
    n_per_class: int = 20                  # the first n objects of each class
    n_test_per_class: int = field(default=0, metadata={"rule": at_least(0)})  # also the first n test-split objects of each class (0: none more)
    views: ViewRenderConfig = field(default_factory=ViewRenderConfig)


def select_objects(prepared_index: pd.DataFrame, n_per_class: int, n_test_per_class: int = 0) -> pd.DataFrame:
    """The first ``n_per_class`` rows of every class of a prepared procedural index, and the first
    ``n_test_per_class`` rows of every class whose split is ``test`` (index order kept). A class with
    fewer test rows than asked is an error."""
    if n_per_class < 1:
        raise ConfigError(f"param 'nerf.data.n_per_class': must be >= 1, got {n_per_class}")
    keep = prepared_index.groupby("class_name").cumcount() < n_per_class
    if n_test_per_class > 0:
        test = prepared_index["split"] == "test"
        counts = test.groupby(prepared_index["class_name"]).sum()
        short = counts[counts < n_test_per_class]
        if len(short):
            raise ConfigError(f"param 'nerf.data.n_test_per_class': class {short.index[0]!r} has only "
                              f"{int(short.iloc[0])} test objects, asked for {n_test_per_class}")
        keep |= test & (test.groupby(prepared_index["class_name"]).cumsum() <= n_test_per_class)
    return prepared_index[keep].reset_index(drop=True)


def render_views_dataset(shape_params, prepared_index: pd.DataFrame, p: NerfDataParams, out_dir: Path,
                         progress: bool = True) -> pd.DataFrame:
    """Render the selected objects of a procedural shape dataset (``shape_params``: its
    :class:`~nf2vec_core.data.prepare.DatasetParams`) into ``out_dir/<id>/`` (Blender layout)."""
    if shape_params.source != "procedural":
        raise ConfigError(f"param 'nerf.data.from_dataset': {p.from_dataset!r} is not a procedural dataset")
    shapes = generate_dataset(shape_params.n_per_class, shape_params.seed, shape_params.classes,
                              shape_params.max_yaw_deg)
    by_id = {f"{s.class_name}_{i:04d}": s for i, s in enumerate(shapes)}
    chosen = select_objects(prepared_index, p.n_per_class, p.n_test_per_class)
    missing = [i for i in chosen["id"] if i not in by_id]
    if missing:
        raise BadInputError(None, f"prepared index ids {missing[:3]} are not shapes of {p.from_dataset!r} "
                                  "(re-run its preprocess stage)")
    index = render_dataset([by_id[i] for i in chosen["id"]], out_dir, p.views, ids=list(chosen["id"]),
                           progress=progress)
    index = index.merge(chosen[["id", "split"]], on="id", how="left")
    write_csv(Path(out_dir) / "index.csv", index)
    return index


def read_views_index(views_dir: Path) -> pd.DataFrame:
    path = Path(views_dir) / "index.csv"
    if not path.is_file():
        raise BadInputError(path, "not found: run the render_views stage first")
    return pd.read_csv(path, keep_default_na=False)


def load_view_sets(views_dir: Path, ids: list[str], split: str) -> list[ViewSet]:
    """The ``split`` (``train``/``val``) views of the given objects, over a white background."""
    return [read_blender(Path(views_dir) / i, split, background="white") for i in ids]


def scene_batch(views_dir: Path, ids: list[str], split: str = "train") -> SceneBatch:
    """The ``split`` views of the given objects stacked for batched rendering losses."""
    return SceneBatch.stack(load_view_sets(views_dir, ids, split))


# ------------------------------------------------------------------------------ store
def _shard_path(out_dir: Path, k: int) -> Path:
    return Path(out_dir) / "shards" / f"shard_{k:05d}.safetensors"


def fit_nerf_dataset(views_dir: Path, out_dir: Path, arch: NerfArch, cfg: NerfFitConfig, *, shard_size: int = 64,
                     device: torch.device | str = "cpu", progress: bool = True) -> dict:
    """Fit one NeRF per object of a views dataset (shared init), shard by shard (resumable)."""
    views_dir, out_dir = Path(views_dir), Path(out_dir)
    index = read_views_index(views_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "arch.json", arch.to_json())
    init = init_nerf_batch(arch, 1, seed=cfg.init_seed, mode="shared")[0]
    with atomic_path(out_dir / "init.safetensors") as tmp:
        save_file({"init": init.contiguous()}, str(tmp))
    n = len(index)
    t0 = time.perf_counter()
    psnr, loss, fitted = np.full(n, np.nan), np.full(n, np.nan), 0
    fit_seconds = 0.0
    for k, a in enumerate(range(0, n, shard_size)):
        b = min(n, a + shard_size)
        path = _shard_path(out_dir, k)
        if path.is_file():
            with open_tensors(path, "NeRF shard") as f:
                check_matrix(path, f.get_slice("params").get_shape(), arch.num_params, b - a, exact=True)
                psnr[a:b], loss[a:b] = f.get_tensor("psnr").numpy(), f.get_tensor("loss").numpy()
            continue
        ids = index["id"].iloc[a:b].tolist()
        train = load_view_sets(views_dir, ids, "train")
        val = load_view_sets(views_dir, ids, "val")
        res = fit_nerfs(arch, train, cfg, val=val, device=device, start_index=a, progress=progress)
        if not torch.isfinite(res.theta).all():
            raise BadInputError(path, "NaN/Inf in fitted NeRF weights (lower nerf.fit.lr)")
        with atomic_path(path) as tmp:
            save_file({"params": res.theta.contiguous(), "rows": torch.arange(a, b),
                       "psnr": res.psnr.double(), "loss": res.loss.double()}, str(tmp))
        psnr[a:b], loss[a:b] = res.psnr.numpy(), res.loss.numpy()
        fitted += b - a
        fit_seconds += res.fit_seconds
    classes = sorted(index["class_name"].unique())
    out = index.assign(class_id=[classes.index(c) for c in index["class_name"]],
                       shard=np.arange(n) // shard_size, row=np.arange(n), psnr=psnr, loss=loss)
    info = {"fit": asdict(cfg), "shard_size": shard_size, "count": n,
            "host": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
            "device": str(device), "classes": classes}
    write_text(out_dir / "fit.json", json.dumps(info, indent=2, default=str))
    write_csv(out_dir / "index.csv", out)
    return {"count": n, "fitted_now": fitted, "mean_psnr": float(np.nanmean(psnr)),
            "median_psnr": float(np.nanmedian(psnr)), "min_psnr": float(np.nanmin(psnr)),
            "fit_seconds": round(fit_seconds, 2), "seconds": round(time.perf_counter() - t0, 2),
            "seconds_per_nerf": round(fit_seconds / max(fitted, 1), 3),
            "nerfs_per_s_fit": round(fitted / fit_seconds, 3) if fit_seconds > 0 else None}


class NerfDataset:
    """Reader of a NeRF store: ``arch``, ``index``, ``params(rows)``, ``split_rows(split)``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        for name in ("arch.json", "index.csv"):
            if not (self.root / name).is_file():
                raise BadInputError(self.root / name, "not found: not a (complete) NeRF dataset (run fit_nerf)")
        self.arch = NerfArch.from_json((self.root / "arch.json").read_text())
        self.index = pd.read_csv(self.root / "index.csv", keep_default_na=False)
        self.classes: list[str] = json.loads((self.root / "fit.json").read_text())["classes"]

    def params(self, rows: Optional[list[int]] = None) -> torch.Tensor:
        parts = []
        counts = self.index["shard"].value_counts()
        for k in sorted(self.index["shard"].unique()):
            path = _shard_path(self.root, int(k))
            with open_tensors(path, "parameter shard") as f:
                check_matrix(path, f.get_slice("params").get_shape(), self.arch.num_params, int(counts[k]),
                             exact=True)
                parts.append(f.get_tensor("params"))
            if not torch.isfinite(parts[-1]).all():
                raise BadInputError(path, "NaN/Inf in NeRF weights")
        theta = torch.cat(parts)
        return theta if rows is None else theta[torch.as_tensor(rows, dtype=torch.long)]

    def split_rows(self, split: str) -> list[int]:
        return self.index.index[self.index["split"] == split].tolist()

    @property
    def labels(self) -> torch.Tensor:
        return torch.as_tensor(self.index["class_id"].to_numpy(copy=True))


__all__ = ["NerfDataParams", "select_objects", "render_views_dataset", "read_views_index", "load_view_sets", "scene_batch",
           "fit_nerf_dataset", "NerfDataset", "SPLITS"]

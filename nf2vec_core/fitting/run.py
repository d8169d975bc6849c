"""Fit a whole prepared dataset into a neural dataset: shards, resume, split runs, progress.

The dataset is cut into shards of ``shard_size`` NFs (the unit of resumption and of work split
across machines) and each shard into chunks of ``chunk_size`` NFs optimised together (small enough
to stay in cache; the rate does not collapse as the dataset grows). A shard is written, atomically,
only when complete: a killed run resumes at the first missing shard. ``part=(i, k)`` fits only the
shards ``s`` with ``s % k == i``; copy the ``shards/`` folders of all parts into one directory
and run :func:`nf2vec_core.store.neural_dataset.finalize` (``stages/fit.py --merge``).
"""
from __future__ import annotations

import math
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, Optional

import pandas as pd
import torch
from tqdm import tqdm

from ..errors import ConfigError
from ..nf.init import init_batch
from ..runtime import pick_device, process_pool, tune_allocator, worker_count
from ..nf.layout import ArchSpec
from ..store import neural_dataset as store
from ..store.prepared import PreparedData
from .engine import FitConfig, fit_chunk
from .quality import quality
from .targets import LOSS_BY_KIND, fit_targets


@dataclass(frozen=True)
class NFParams:
    """The ``nf`` section: architecture of every NF (input/output sizes come from the data)."""

    family: Literal["siren", "rffnet", "mfn"] = "siren"
    hidden: int = 32
    depth: int = 3
    w0: float = 30.0
    w0_first: float = 30.0
    rff_features: int = 64
    rff_std: float = 10.0
    mfn_scale: float = 16.0

    def spec(self, in_dim: int, out_dim: int) -> ArchSpec:
        return ArchSpec(in_dim=in_dim, out_dim=out_dim, **asdict(self))


@dataclass(frozen=True)
class FitParams:
    """The ``fit`` section."""

    steps: int = 500
    lr: float = 1e-3
    lr_schedule: Literal["constant", "cosine"] = "constant"
    lr_final: float = 0.1
    points_per_step: int = 2048
    chunk_size: int = 32
    shard_size: int = 256
    init: Literal["shared", "random"] = "shared"
    init_seed: int = 0
    backend: Literal["auto", "fused", "autograd"] = "auto"
    loss: Optional[Literal["mse", "bce", "l1"]] = None   # None: by field kind
    seed: int = 0
    device: str = "auto"
    workers: int = 0       # CPU: processes fitting chunks side by side (0 = one per core); CUDA: 1

    def engine_config(self, kind: str) -> FitConfig:
        return FitConfig(steps=self.steps, lr=self.lr, lr_schedule=self.lr_schedule, lr_final=self.lr_final,
                         points_per_step=self.points_per_step,
                         chunk_size=self.chunk_size, loss=self.loss or LOSS_BY_KIND[kind],
                         backend=self.backend, seed=self.seed)


@dataclass(frozen=True)
class ViewParams:
    """The ``views`` section: more NFs of the same items, fitted like the dataset's own (same shared
    init, same settings) from other point-sampling seeds. Two such fits of one shape differ by
    more than different shapes do (README), and a classifier or encoder trained on several fits
    per shape learns to look past that. ``count`` counts the dataset's own NF: 1 = no views."""

    count: int = 1
    splits: tuple[str, ...] = ("train", "val")

    def __post_init__(self) -> None:
        if int(self.count) < 1:
            raise ConfigError(f"views.count: must be >= 1, got {self.count}")
        bad = set(self.splits) - {"train", "val", "test"}
        if bad:
            raise ConfigError(f"views.splits: unknown splits {sorted(bad)} (train, val, test)")


def parse_part(text: str) -> tuple[int, int]:
    """``"i/k"`` (fit the shards ``s`` with ``s % k == i``) as ``(i, k)``; ConfigError otherwise."""
    try:
        i, k = (int(v) for v in text.split("/"))
    except ValueError:
        raise ConfigError(f"--part must be i/k with whole numbers, got {text!r}") from None
    if not 0 <= i < k:
        raise ConfigError(f"--part i/k needs 0 <= i < k, got {text!r}")
    return i, k


def chunk_seed(fit: FitParams, view: int, first_row: int) -> int:
    """Point-sampling seed of the chunk that starts at prepared row ``first_row``. View 0 is the
    dataset's own NF; views 1, 2, ... are other fits of the same item (:func:`fit_views`)."""
    return (fit.seed + 1009 * int(view)) * 1_000_003 + int(first_row)


def _fit_chunk(job: tuple) -> tuple[torch.Tensor, pd.DataFrame]:
    """Fit one chunk of NFs (``data`` items ``c0:c1``) and measure their quality; runs in this
    process or in a pool worker (module level, picklable arguments)."""
    data, spec, fit, c0, c1, seed, device, init_index, on_grid = job
    cfg = fit.engine_config(data.kind)
    theta0 = init_batch(spec, c1 - c0, mode=fit.init, seed=fit.init_seed, start_index=init_index).to(device)
    theta, loss = fit_chunk(spec, theta0, fit_targets(data, c0, c1).to(device), cfg, seed=seed)
    q = {k: v.cpu().numpy() for k, v in quality(spec, theta, data, c0, c1, on_grid=on_grid).items()}
    return theta.cpu(), pd.DataFrame({"fit_loss": loss.cpu().numpy(), **q})


def fit_dataset(prepared_dir: Path, out_dir: Path, nf: NFParams, fit: FitParams,
                part: tuple[int, int] = (0, 1), finalize: bool = True,
                rows: "list[int] | None" = None, view: int = 0, on_grid: bool = True) -> dict:
    """Fit every item of a prepared dataset (or the items ``rows`` only); returns a summary (also
    the metrics of the stage). ``view`` > 0 fits another NF of each item from the same init with
    other point samples (:func:`fit_views`); the index then has a ``view`` column. ``on_grid=False``
    measures the fits off-grid only (:func:`~.quality.quality`).

    On CPU the chunks of a shard are fitted by ``fit.workers`` one-thread processes side by side
    (small batched matmuls use one core better than two threads share it); the NFs are the same
    for any number of workers."""
    tune_allocator()
    data = PreparedData(prepared_dir)
    first_rows = list(range(len(data.index))) if rows is None else [int(r) for r in rows]
    if rows is not None:
        data = data.subset(first_rows)
    in_dim, out_dim = data.in_out_dims()
    spec = nf.spec(in_dim, out_dim)
    device = pick_device(fit.device)
    n = len(data.index)
    n_shards = math.ceil(n / fit.shard_size)
    init0 = init_batch(spec, 1, mode=fit.init, seed=fit.init_seed)[0]
    workers = 1 if device.type == "cuda" else worker_count(fit.workers)
    info = {"nf": asdict(nf), "fit": asdict(fit), "kind": data.kind, "num_params": spec.num_params,
            "count": n, "shards": n_shards, "device": str(device), "torch": torch.__version__,
            "host": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
            "workers": workers, "view": int(view)}
    store.write_header(out_dir, spec, init0, info)
    todo = [s for s in range(n_shards) if s % part[1] == part[0] and s not in store.completed_shards(out_dir)]
    n_todo = sum(min(fit.shard_size, n - s * fit.shard_size) for s in todo)
    t0, done = time.perf_counter(), 0
    name = f"fit {spec.family} {spec.depth}x{spec.hidden}" + (f" view {view}" if view else "")
    bar = tqdm(total=n_todo * fit.steps, desc=name, unit="NF-step", unit_scale=True, smoothing=0.1)
    # the chunks of all shards go to the pool as one stream (no idle worker at a shard's end);
    # results come back in order, and a shard is written as soon as its last chunk is in
    jobs, shard_of = [], []    # shard_of[i]: (shard, its first and end rows) of job i
    for s in todo:
        a, b = s * fit.shard_size, min(n, (s + 1) * fit.shard_size)
        for c0 in range(a, b, fit.chunk_size):
            jobs.append((data, spec, fit, c0, min(b, c0 + fit.chunk_size), chunk_seed(fit, view, first_rows[c0]),
                         device, c0, on_grid))
            shard_of.append((s, a, b))
    thetas, metrics = [], []
    with process_pool(workers) as pool:
        results = pool.imap(_fit_chunk, jobs) if pool is not None else map(_fit_chunk, jobs)
        for i, (theta, m) in enumerate(results):
            thetas.append(theta)
            metrics.append(m)
            done += len(m)
            bar.update(len(m) * fit.steps)
            bar.set_postfix(NFs_per_s=f"{done / max(1e-9, time.perf_counter() - t0):.1f}")
            s, a, b = shard_of[i]
            if i + 1 == len(jobs) or shard_of[i + 1][0] != s:
                index_rows = data.index.iloc[a:b].reset_index(drop=True)
                if view:
                    index_rows = index_rows.assign(view=int(view))
                store.write_shard(out_dir, s, torch.cat(thetas),
                                  pd.concat([index_rows, pd.concat(metrics, ignore_index=True)], axis=1))
                thetas, metrics = [], []
    bar.close()
    elapsed = time.perf_counter() - t0
    summary = {"count": n, "fitted_now": n_todo, "seconds": round(elapsed, 2),
               "nf_steps_per_s": round(n_todo * fit.steps / elapsed, 1) if n_todo else None}
    if finalize and (part[1] == 1 or len(store.completed_shards(out_dir)) == n_shards):
        index = store.finalize(out_dir, n_shards, pd.read_csv(Path(prepared_dir) / "rejected.csv"))
        summary.update(summarize_quality(index))
    return summary


def fit_views(prepared_dir: Path, out_dir: Path, nf: NFParams, fit: FitParams, views: ViewParams) -> dict:
    """Fit views ``1 .. count-1`` of the items of ``views.splits`` into ``out_dir/view<v>`` (one
    neural dataset each, with a ``view`` column); returns a summary per view. The views are measured
    off-grid only (``iou_offgrid``...): the on-grid metric would add ~12% to their fitting time."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = PreparedData(prepared_dir).split_rows(views.splits)
    return {f"view{v}": fit_dataset(prepared_dir, out_dir / f"view{v}", nf, fit, rows=rows, view=v, on_grid=False)
            for v in range(1, int(views.count))}


def merge_parts(prepared_dir: Path, out_dir: Path, fit: FitParams) -> dict:
    """Finalize a neural dataset whose shards were fitted as separate parts (``--part i/k``)."""
    n = len(PreparedData(prepared_dir).index)
    index = store.finalize(out_dir, math.ceil(n / fit.shard_size), pd.read_csv(Path(prepared_dir) / "rejected.csv"))
    return {"count": len(index), **summarize_quality(index)}


def summarize_quality(index: pd.DataFrame) -> dict:
    """Mean (and for the main metric, median/min) of the per-NF fit metrics, per split and overall."""
    cols = [c for c in index.columns if c in ("fit_loss", "iou", "iou_offgrid", "iou_ratio", "psnr", "psnr_offgrid",
                                              "psnr_ratio", "chamfer", "fscore", "udf_mae", "udf_mae_offgrid",
                                              "udf_mae_ratio")]
    out: dict = {f"mean_{c}": float(index[c].mean()) for c in cols}
    for c in ("iou", "psnr", "chamfer"):
        if c in index:
            out[f"median_{c}"] = float(index[c].median())
            out[f"min_{c}" if c != "chamfer" else f"max_{c}"] = float(index[c].min() if c != "chamfer" else index[c].max())
    return out

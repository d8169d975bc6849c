"""Training of nf2vec (paper 000 §III "Training"): encoder + implicit decoder, end to end.

Each step takes a batch of NFs, embeds their stacked weight rows with the
:class:`~nf2vec_core.encoders.rows.RowEncoder`, and asks the
:class:`~nf2vec_core.decoders.implicit.ImplicitDecoder` for the field at ``queries_per_item``
query points per NF, sampled (with replacement, from a seeded ``torch.Generator``) among the ``M``
ground-truth points of that NF; the loss is :func:`~nf2vec_core.train.losses.field_loss`. AdamW with
a one-cycle (default), cosine or constant learning-rate schedule, stepped per batch.

Outputs in ``out_dir`` (written by rank 0 only): ``last.safetensors`` after every epoch (atomic), ``best.safetensors``
(lowest validation loss; lowest training loss when there is no validation set) and
``history.csv`` (one row per epoch: ``epoch, train_loss, val_loss, lr``; ``epoch`` is 0-based).
Timings never enter these files (the same training gives the same bytes): each epoch's seconds go
to ``timing.csv`` beside them and to the returned history. With ``resume=True`` a run finds ``last.safetensors`` and continues from the next epoch; item
order and query sampling depend only on ``(seed, epoch, rank)``, so a resumed run reproduces the
losses of an uninterrupted one.

Under ``torchrun`` (see :mod:`nf2vec_core.train.distributed`) the items of each epoch are sharded
over ranks, the model is wrapped in ``DistributedDataParallel`` (with ``SyncBatchNorm`` on CUDA),
``batch_size`` is per process and losses are averaged over ranks.
"""
from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import torch
from torch import nn
from tqdm.auto import tqdm

from ..decoders.implicit import ImplicitDecoder, ImplicitDecoderConfig
from ..encoders.rows import RowEncoder, RowEncoderConfig, num_rows
from ..errors import BadInputError, ConfigError
from ..fields.kinds import check_kind
from ..nf.layout import ArchSpec
from ..store.staging import open_work
from . import distributed as D
from .checkpoint import atomic_save, build_models, load_checkpoint
from .losses import LossConfig, field_loss, siglip_loss

HISTORY_COLUMNS = ("epoch", "train_loss", "val_loss", "lr")
TIMING_COLUMNS = ("epoch", "seconds")
# train-config keys that may differ between a run and its resumption
_RESUME_FREE_KEYS = ("num_workers", "log_every", "val_every", "amp")


@dataclass
class FieldDataset:
    """NFs and the ground truth of the fields they represent, as in-memory (CPU) tensors.

    ``params [N, P]``: flat NF vectors; ``coords [N, M, d]`` (query points per item) or ``[M, d]``
    (shared by every item, e.g. voxel or pixel centres); ``values [N, M, c]``: ground-truth field
    values at those points in natural units (see :mod:`nf2vec_core.train.losses`); ``labels [N]``
    (optional class labels, carried along, unused by training); ``views [K, N, P]`` (optional):
    ``K`` other NFs of each item, fitted from the same init with other point samples
    (:func:`nf2vec_core.fitting.run.fit_views`), the positives of the SigLIP term.
    """

    params: torch.Tensor
    coords: torch.Tensor
    values: torch.Tensor
    labels: torch.Tensor | None = None
    views: torch.Tensor | None = None

    def __post_init__(self) -> None:
        n = self.params.shape[0] if self.params.dim() == 2 else -1
        if n < 0:
            raise BadInputError(None, f"FieldDataset: params must be [N, P], got {tuple(self.params.shape)}")
        if self.views is not None and (self.views.dim() != 3 or self.views.shape[1:] != self.params.shape):
            raise BadInputError(None, f"FieldDataset: views must be [K, N={n}, P={self.params.shape[1]}], "
                                      f"got {tuple(self.views.shape)}")
        if self.values.dim() != 3 or self.values.shape[0] != n:
            raise BadInputError(None, f"FieldDataset: values must be [N={n}, M, c], got {tuple(self.values.shape)}")
        m = self.values.shape[1]
        ok = (self.coords.dim() == 3 and self.coords.shape[:2] == (n, m)) or \
             (self.coords.dim() == 2 and self.coords.shape[0] == m)
        if not ok:
            raise BadInputError(None, f"FieldDataset: coords must be [N={n}, M={m}, d] or [M={m}, d], "
                                      f"got {tuple(self.coords.shape)}")
        if m < 1:
            raise BadInputError(None, "FieldDataset: no query points (M = 0)")
        if self.labels is not None and self.labels.shape[:1] != (n,):
            raise BadInputError(None, f"FieldDataset: labels must be [N={n}], got {tuple(self.labels.shape)}")
        for name in ("params", "coords", "values", "views"):
            if getattr(self, name) is not None and not torch.isfinite(getattr(self, name)).all():
                raise BadInputError(None, f"FieldDataset: {name} contains NaN or Inf")

    def __len__(self) -> int:
        return int(self.params.shape[0])

    @property
    def in_dim(self) -> int:
        return int(self.coords.shape[-1])

    @property
    def out_dim(self) -> int:
        return int(self.values.shape[-1])

    @property
    def num_points(self) -> int:
        return int(self.values.shape[1])

    def batch(self, idx: torch.Tensor, queries: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(params [B,P], coords [B,Q,d], values [B,Q,c])`` for items ``idx [B]``, point indices ``queries [B,Q]``."""
        x = self.coords[queries] if self.coords.dim() == 2 else self.coords[idx[:, None], queries]
        return self.params[idx].float(), x.float(), self.values[idx[:, None], queries].float()


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (``batch_size`` is per process; ``num_workers`` is unused: the data
    live in memory and batches are gathered by indexing). ``grad_clip`` 0 disables clipping.

    ``row_noise`` (not in the paper; 0 disables it) is a weight-space augmentation. In training
    only, each entry of the encoder's input rows gets Gaussian noise with standard deviation
    ``row_noise`` times that entry's standard deviation over the batch's NFs. The noise follows
    how the NFs of a shared-init dataset actually differ, so the encoder has to map nearby
    weights to nearby embeddings; on the embedded shapes it lowered the validation loss and
    raised accuracy by ~3 points (README).

    ``contrastive`` (not in paper 000; 0 disables it) weighs a SigLIP term (paper 003's contrastive
    loss) added to the field loss: every NF of the batch is encoded twice, from two independent
    ``row_noise`` draws, and a small projection head must tell each NF's pair apart from the other
    NFs of the batch. Paper 003 pairs NFs of different architectures; here the two views are two
    noisy copies of the same weights, so the embedding keeps what distinguishes one NF from its
    neighbours (README: +4 to +6 points of accuracy on the embedded shapes). Needs ``row_noise`` > 0.
    The logged ``train_loss`` is the field loss alone, comparable with ``val_loss``.

    ``view_pairs`` (when the training data carry ``views``): the SigLIP positive of an NF is
    another fit of the same item (drawn at random among its views, with row noise), not a second
    noisy copy of its own weights. Two fits of one shape from the shared init differ by more than
    the shape-to-shape spread (README), so this teaches the encoder what fitting changes.
    """

    epochs: int = 100
    batch_size: int = 16
    lr: float = 1e-4
    weight_decay: float = 1e-2
    queries_per_item: int = 4096
    seed: int = 0
    num_workers: int = 0
    log_every: int = 50
    val_every: int = 1
    amp: bool = False
    schedule: Literal["onecycle", "cosine", "constant"] = "onecycle"
    grad_clip: float = 0.0
    row_noise: float = 0.0
    contrastive: float = 0.0
    contrastive_dim: int = 128
    view_pairs: bool = False
    loss: LossConfig = field(default_factory=LossConfig)

    def __post_init__(self) -> None:
        if isinstance(self.loss, dict):
            object.__setattr__(self, "loss", LossConfig.from_dict(self.loss))
        for key in ("epochs", "batch_size", "queries_per_item", "log_every", "val_every"):
            if int(getattr(self, key)) < 1:
                raise ConfigError(f"train.{key}: must be >= 1, got {getattr(self, key)}")
        if self.schedule not in ("onecycle", "cosine", "constant"):
            raise ConfigError(f"train.schedule: expected onecycle/cosine/constant, got {self.schedule!r}")
        if not self.lr > 0:
            raise ConfigError(f"train.lr: must be > 0, got {self.lr}")
        if not float(self.row_noise) >= 0:
            raise ConfigError(f"train.row_noise: must be >= 0, got {self.row_noise}")
        if not float(self.contrastive) >= 0:
            raise ConfigError(f"train.contrastive: must be >= 0, got {self.contrastive}")
        if self.contrastive > 0 and not self.row_noise > 0:
            raise ConfigError("train.contrastive needs train.row_noise > 0 (its two views are two row-noise draws)")
        if int(self.contrastive_dim) < 1:
            raise ConfigError(f"train.contrastive_dim: must be >= 1, got {self.contrastive_dim}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


class NF2Vec(nn.Module):
    """Encoder + decoder as one module: ``forward(rows [B,S,H], x [B,Q,d]) -> raw [B,Q,c]``.

    With ``contrastive_dim`` > 0 it also holds the projection head and the learned SigLIP scale and
    bias (initialised at 10 and -10, as in SigLIP); ``forward(rows, x, rows2)`` then encodes both
    views in one pass and returns ``(raw [B,Q,c], logits [B,B])`` for :func:`siglip_loss` (the
    decoder reads the first view's embeddings).
    """

    def __init__(self, encoder: RowEncoder, decoder: ImplicitDecoder, contrastive_dim: int = 0):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.head: nn.Module | None = None
        if contrastive_dim > 0:
            d = encoder.embed_dim
            self.head = nn.Sequential(nn.Linear(d, d), nn.ReLU(inplace=True), nn.Linear(d, int(contrastive_dim)))
            self.logit_scale = nn.Parameter(torch.tensor(math.log(10.0)))
            self.logit_bias = nn.Parameter(torch.tensor(-10.0))

    def forward(self, rows: torch.Tensor, x: torch.Tensor, rows2: torch.Tensor | None = None):
        if rows2 is None:
            return self.decoder(self.encoder(rows), x)
        if self.head is None:
            raise ValueError("NF2Vec: a second view needs the contrastive head (contrastive_dim > 0)")
        b = rows.shape[0]
        z = self.encoder(torch.cat([rows, rows2]))
        p = nn.functional.normalize(self.head(z), dim=-1)
        logits = p[:b] @ p[b:].T * self.logit_scale.exp() + self.logit_bias
        return self.decoder(z[:b], x), logits

    def contrastive_state(self) -> dict[str, torch.Tensor] | None:
        """State of the head, scale and bias (saved with the checkpoint for resuming), or None."""
        if self.head is None:
            return None
        return {k: v for k, v in self.state_dict().items() if not k.startswith(("encoder.", "decoder."))}


def _make_scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int):
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(total_steps, 2))
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(total_steps, 1))
    return torch.optim.lr_scheduler.LambdaLR(opt, lambda _: 1.0)


def _epoch_seed(seed: int, epoch: int, rank: int) -> int:
    return (int(seed) * 1_000_003 + int(epoch) * 7_919 + int(rank) * 104_729 + 17) % (2**63 - 1)


def _write_history(path: Path, history: list[dict[str, float]], columns: tuple[str, ...] = HISTORY_COLUMNS) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        w.writerows(history)
    os.replace(tmp, path)


def _with_seconds(history: list[dict[str, Any]], csv_path: Path) -> list[dict[str, Any]]:
    """Checkpoints keep no timings; a resumed run takes the earlier epochs' seconds from the
    timing file beside the checkpoint (NaN where it has none)."""
    seconds: dict[int, float] = {}
    if csv_path.is_file():
        with csv_path.open(newline="") as f:
            for r in csv.DictReader(f):
                try:
                    seconds[int(r["epoch"])] = float(r["seconds"])
                except (KeyError, ValueError):
                    continue
    return [{**r, "seconds": seconds.get(int(r["epoch"]), math.nan)} for r in history]


def _check_resume(meta: dict[str, Any], saved: dict[str, Any], path: Path) -> None:
    for key in ("spec", "field_kind", "in_features", "num_rows", "in_dim", "out_dim", "encoder", "decoder"):
        if saved.get(key) != meta[key]:
            raise ConfigError(f"{path}: cannot resume, '{key}' differs from the checkpoint "
                              f"({saved.get(key)!r} vs {meta[key]!r}); use another out_dir or resume=False")
    a = {k: v for k, v in saved["train"].items() if k not in _RESUME_FREE_KEYS}
    b = {k: v for k, v in meta["train"].items() if k not in _RESUME_FREE_KEYS}
    if a != b:
        diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        raise ConfigError(f"{path}: cannot resume, train settings {diff} differ from the checkpoint")


def _autocast(device: torch.device, amp: bool):
    if amp and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def _evaluate(model: NF2Vec, data: FieldDataset, queries: torch.Tensor, spec: ArchSpec, kind: str,
              cfg: TrainConfig, device: torch.device) -> float:
    """Mean validation loss over all items (fixed queries), sharded over ranks and reduced."""
    model.eval()
    D.broadcast_buffers(model)
    idx_all = torch.arange(len(data))[D.get_rank()::D.get_world_size()]
    total = torch.zeros(2, dtype=torch.float64, device=device)
    for start in range(0, len(idx_all), cfg.batch_size):
        idx = idx_all[start:start + cfg.batch_size]
        theta, x, y = (t.to(device) for t in data.batch(idx, queries[idx]))
        with _autocast(device, cfg.amp):
            pred = model(model.encoder.rows(spec, theta), x)
        total[0] += field_loss(kind, pred, y, cfg.loss).double() * len(idx)
        total[1] += len(idx)
    model.train()
    total = D.all_reduce_sum(total)
    return float(total[0] / total[1].clamp_min(1))


def train_nf2vec(train: FieldDataset, val: FieldDataset | None, spec: ArchSpec, field_kind: str,
                 enc_cfg: RowEncoderConfig, dec_cfg: ImplicitDecoderConfig, train_cfg: TrainConfig,
                 out_dir: str | Path, device: torch.device | str | None = None, resume: bool = True,
                 on_epoch_end: Callable[[int, dict[str, float]], None] | None = None,
                 fingerprint: str | None = None) -> dict[str, Any]:
    """Train nf2vec; returns ``{"history": [row, ...], "best_epoch": int, "best_val_loss": float}``.

    With ``fingerprint`` (:func:`~nf2vec_core.store.staging.fingerprint` of the run's settings,
    data and code), ``out_dir`` is a work directory: kept for a resume only when it holds that
    fingerprint, emptied otherwise (rank 0 decides, the other ranks wait).

    ``device`` defaults to CUDA when available (under ``torchrun``, the local rank's GPU).
    ``on_epoch_end(epoch, row)`` is called on every rank after the epoch's checkpoint is written.
    """
    check_kind(field_kind)
    cfg = train_cfg
    out_dir = Path(out_dir)
    owns_group = not (torch.distributed.is_available() and torch.distributed.is_initialized())
    rank, world, dev = D.init_distributed(device)
    main = rank == 0
    try:
        if len(train) == 0:
            raise BadInputError(None, "the training set is empty")
        if train.params.shape[1] != spec.num_params:
            raise BadInputError(None, f"train params have {train.params.shape[1]} entries, the "
                                      f"{spec.family} {spec.depth}x{spec.hidden} layout has {spec.num_params}")
        if val is not None and len(val) == 0:
            val = None
        if val is not None and (val.params.shape[1] != spec.num_params or val.in_dim != train.in_dim
                                or val.out_dim != train.out_dim):
            raise BadInputError(None, "validation set does not match the training set's NF layout or dims")
        meta = {"spec": spec.to_json(), "field_kind": field_kind, "in_features": spec.hidden,
                "num_rows": num_rows(spec, enc_cfg),
                "in_dim": train.in_dim, "out_dim": train.out_dim, "encoder": enc_cfg.to_dict(),
                "decoder": dec_cfg.to_dict(), "loss": cfg.loss.to_dict(), "clip": cfg.loss.clip,
                "train": cfg.to_dict()}
        meta = json.loads(json.dumps(meta))  # the plain form a checkpoint stores (tuples -> lists)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)
            encoder, decoder = build_models(meta)
            model = NF2Vec(encoder, decoder, cfg.contrastive_dim if cfg.contrastive > 0 else 0).to(dev)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        per_rank = -(-len(train) // world)
        steps_per_epoch = -(-per_rank // cfg.batch_size)
        sched = _make_scheduler(opt, cfg, cfg.epochs * steps_per_epoch)

        # the process-wide RNG starts from a random seed in each process: give it a fixed one, so
        # that the state a checkpoint saves (for a resume) is the same in every run
        torch.manual_seed(_epoch_seed(cfg.seed, -2, rank))
        if fingerprint is not None:
            if main:
                open_work(out_dir, fingerprint)
            D.barrier()
        start_epoch, history = 0, []
        best_epoch, best_loss = -1, math.inf
        last_path, best_path = out_dir / "last.safetensors", out_dir / "best.safetensors"
        if resume and last_path.is_file():
            ckpt = load_checkpoint(last_path, map_location=dev)
            _check_resume(meta, ckpt["meta"], last_path)
            model.encoder.load_state_dict(ckpt["encoder"])
            model.decoder.load_state_dict(ckpt["decoder"])
            if ckpt.get("contrastive") is not None:
                model.load_state_dict(ckpt["contrastive"], strict=False)
            opt.load_state_dict(ckpt["optimizer"])
            sched.load_state_dict(ckpt["scheduler"])
            start_epoch = int(ckpt["epoch"])
            history = _with_seconds(list(ckpt["history"]), out_dir / "timing.csv")
            best_epoch, best_loss = int(ckpt["best_epoch"]), float(ckpt["best_val_loss"])
            torch.set_rng_state(ckpt["rng"]["cpu"].cpu())
            if dev.type == "cuda" and ckpt["rng"].get("cuda") is not None:
                torch.cuda.set_rng_state(ckpt["rng"]["cuda"].cpu(), dev)
        if main:
            out_dir.mkdir(parents=True, exist_ok=True)

        net: nn.Module = model
        if world > 1:
            if dev.type == "cuda":
                net = nn.SyncBatchNorm.convert_sync_batchnorm(model)
                model = net  # same encoder/decoder modules, BatchNorm replaced in place
            net = nn.parallel.DistributedDataParallel(
                net, device_ids=[dev.index] if dev.type == "cuda" else None)

        val_queries = None
        if val is not None:
            gv = torch.Generator().manual_seed(_epoch_seed(cfg.seed, -1, 0))
            val_queries = torch.randint(val.num_points, (len(val), cfg.queries_per_item), generator=gv)

        def checkpoint(epoch_done: int) -> dict[str, Any]:
            return {"meta": meta, "encoder": model.encoder.state_dict(), "decoder": model.decoder.state_dict(),
                    "contrastive": model.contrastive_state(),
                    "optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "epoch": epoch_done,
                    "history": [{k: v for k, v in r.items() if k != "seconds"} for r in history],  # no timings
                    "best_epoch": best_epoch, "best_val_loss": best_loss,
                    "rng": {"cpu": torch.get_rng_state(),
                            "cuda": torch.cuda.get_rng_state(dev) if dev.type == "cuda" else None}}

        for epoch in range(start_epoch, cfg.epochs):
            t0 = time.perf_counter()
            train_loss = _train_epoch(net, model, train, spec, field_kind, cfg, opt, sched, dev,
                                      epoch, rank, world, steps_per_epoch, main)
            val_loss = math.nan
            if val is not None and ((epoch + 1) % cfg.val_every == 0 or epoch + 1 == cfg.epochs):
                val_loss = _evaluate(model, val, val_queries, spec, field_kind, cfg, dev)
            row = {"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss,
                   "lr": float(opt.param_groups[0]["lr"]), "seconds": time.perf_counter() - t0}
            history.append(row)
            select = val_loss if val is not None else train_loss
            improved = not math.isnan(select) and select < best_loss
            if improved:
                best_epoch, best_loss = epoch, select
            if main:
                state = checkpoint(epoch + 1)
                if improved:
                    atomic_save(state, best_path)
                atomic_save(state, last_path)
                _write_history(out_dir / "history.csv", history)
                _write_history(out_dir / "timing.csv", history, TIMING_COLUMNS)
                tqdm.write(f"epoch {epoch}: train {train_loss:.5f} val {val_loss:.5f} "
                           f"({row['seconds']:.1f}s)")
            D.barrier()
            if on_epoch_end is not None:
                on_epoch_end(epoch, row)
        return {"history": history, "best_epoch": best_epoch, "best_val_loss": best_loss}
    finally:
        if owns_group:
            D.cleanup()


def _train_epoch(net: nn.Module, model: NF2Vec, data: FieldDataset, spec: ArchSpec, kind: str,
                 cfg: TrainConfig, opt: torch.optim.Optimizer, sched, dev: torch.device, epoch: int,
                 rank: int, world: int, steps: int, main: bool) -> float:
    """One epoch over this rank's shard; returns the mean training loss over all ranks."""
    net.train()
    idx_all = D.shard_indices(len(data), rank, world, seed=cfg.seed, epoch=epoch)
    gen = torch.Generator().manual_seed(_epoch_seed(cfg.seed, epoch, rank))
    total = torch.zeros(2, dtype=torch.float64, device=dev)
    bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not main, leave=False)
    for step, start in enumerate(range(0, len(idx_all), cfg.batch_size)):
        idx = idx_all[start:start + cfg.batch_size]
        queries = torch.randint(data.num_points, (len(idx), cfg.queries_per_item), generator=gen)
        theta, x, y = (t.to(dev, non_blocking=True) for t in data.batch(idx, queries))
        clean = model.encoder.rows(spec, theta)
        # contrastive > 0 implies row_noise > 0 (TrainConfig); the batch spread is shared by both views
        spread = clean.std(dim=0, keepdim=True) if cfg.row_noise > 0 and len(idx) > 1 else None
        rows = add_row_noise(clean, cfg.row_noise, gen, spread) if cfg.row_noise > 0 else clean
        contrastive = None
        with _autocast(dev, cfg.amp):
            if cfg.contrastive > 0:
                other = clean
                if cfg.view_pairs and data.views is not None:
                    pick = torch.randint(data.views.shape[0], (len(idx),), generator=gen)
                    other = model.encoder.rows(spec, data.views[pick, idx].float().to(dev, non_blocking=True))
                pred, logits = net(rows, x, add_row_noise(other, cfg.row_noise, gen, spread))
                contrastive = siglip_loss(logits.float())
            else:
                pred = net(rows, x)
        loss = field_loss(kind, pred, y, cfg.loss)
        total_loss = loss if contrastive is None else loss + cfg.contrastive * contrastive
        opt.zero_grad(set_to_none=True)
        total_loss.backward()
        if cfg.grad_clip > 0:
            nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
        opt.step()
        sched.step()
        total[0] += loss.detach().double() * len(idx)
        total[1] += len(idx)
        bar.update(1)
        if (step + 1) % cfg.log_every == 0:  # the only host syncs of the loop
            _check_finite(loss, epoch, step)
            bar.set_postfix(loss=f"{loss.item():.5f}")
    bar.close()
    total = D.all_reduce_sum(total)
    _check_finite(total[0], epoch, steps - 1)
    return float(total[0] / total[1].clamp_min(1))


def add_row_noise(rows: torch.Tensor, scale: float, gen: torch.Generator,
                  spread: torch.Tensor | None = None) -> torch.Tensor:
    """``rows [B, S, H]`` plus Gaussian noise of std ``scale`` x each entry's std over the batch
    (``spread [1, S, H]``, computed here unless given, so that two views of one batch share it;
    drawn from the CPU generator ``gen``, so a run is reproducible on any device). A batch of one
    NF has no spread and is returned unchanged."""
    if rows.shape[0] < 2:
        return rows
    noise = torch.randn(rows.shape, generator=gen).to(rows.device, rows.dtype)
    return rows + scale * (rows.std(dim=0, keepdim=True) if spread is None else spread) * noise


def _check_finite(loss: torch.Tensor, epoch: int, step: int) -> None:
    if not bool(torch.isfinite(loss)):
        raise FloatingPointError(f"nf2vec training diverged at epoch {epoch} (by step {step}): loss "
                                 f"{float(loss)}; lower train.lr or enable train.grad_clip")

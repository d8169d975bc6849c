"""PointNet baseline on point clouds and the inference-time comparison of paper 000 Fig. 11.

PointNet (Qi et al., CVPR 2017, paper 000 ref. [45]), vanilla classification branch: a shared MLP
``3 -> 64 -> 64 -> 64 -> 128 -> 1024`` (``Conv1d(kernel 1) -> BN -> ReLU`` over points), global
max-pool, FC ``1024 -> 512 -> 256 -> C`` with BN/ReLU and dropout before the head. The optional
input transform is the 3x3 T-Net of the original paper (identity-initialised); the feature T-Net is
not included.

Training follows paper 000's baselines: "standard data augmentation (random scaling and point-wise
jittering)": per-cloud anisotropic scaling ``U(0.8, 1.25)`` per axis and Gaussian jitter
``sigma = 0.01`` clipped to ``±0.05`` (:func:`augment_point_clouds`).

Point clouds are float ``[B, P, 3]``; labels int ``[B]``.
"""
from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..errors import BadInputError, ConfigError
from ..runtime import pick_device
from .classification import as_label_tensor, classification_metrics


@dataclass(frozen=True)
class PointNetConfig:
    """PointNet training options (Adam-style optimiser with cosine decay)."""

    lr: float = 1e-3
    weight_decay: float = 1e-4
    epochs: int = 200
    batch_size: int = 32
    dropout: float = 0.3
    input_transform: bool = False
    scale_low: float = 0.8
    scale_high: float = 1.25
    jitter_sigma: float = 0.01
    jitter_clip: float = 0.05
    seed: int = 0

    def __post_init__(self) -> None:
        if not float(self.lr) > 0 or int(self.epochs) < 1 or int(self.batch_size) < 2:
            raise ConfigError(f"pointnet: need lr > 0, epochs >= 1, batch_size >= 2; got "
                              f"{self.lr}, {self.epochs}, {self.batch_size}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ConfigError(f"pointnet.dropout: must be in [0, 1), got {self.dropout}")
        if not 0 < float(self.scale_low) <= float(self.scale_high):
            raise ConfigError(f"pointnet: need 0 < scale_low <= scale_high, got {self.scale_low}, {self.scale_high}")
        if float(self.jitter_sigma) < 0 or float(self.jitter_clip) < 0:
            raise ConfigError("pointnet: jitter_sigma and jitter_clip must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PointNetConfig":
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"pointnet: unknown keys {sorted(unknown)}")
        return cls(**d)


def _conv_bn(widths: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Conv1d(a, b, 1), nn.BatchNorm1d(b), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class InputTNet(nn.Module):
    """3x3 input transform: ``[B, 3, P] -> [B, 3, 3]``, identity at initialisation."""

    def __init__(self) -> None:
        super().__init__()
        self.features = _conv_bn([3, 64, 128, 1024])
        self.fc = nn.Sequential(nn.Linear(1024, 512), nn.BatchNorm1d(512), nn.ReLU(inplace=True),
                                nn.Linear(512, 256), nn.BatchNorm1d(256), nn.ReLU(inplace=True),
                                nn.Linear(256, 9))
        nn.init.zeros_(self.fc[-1].weight)
        nn.init.zeros_(self.fc[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = self.features(x).amax(dim=2)
        eye = torch.eye(3, device=x.device, dtype=x.dtype).reshape(1, 9)
        return (self.fc(g) + eye).reshape(-1, 3, 3)


class PointNetClassifier(nn.Module):
    """Vanilla PointNet classifier: ``[B, P, 3] -> [B, C]`` logits (any ``P``)."""

    def __init__(self, num_classes: int, input_transform: bool = False, dropout: float = 0.3) -> None:
        super().__init__()
        if num_classes < 2:
            raise ConfigError(f"pointnet: num_classes must be >= 2, got {num_classes}")
        self.tnet = InputTNet() if input_transform else None
        self.features = _conv_bn([3, 64, 64, 64, 128, 1024])
        self.head = nn.Sequential(nn.Linear(1024, 512), nn.BatchNorm1d(512), nn.ReLU(inplace=True),
                                  nn.Linear(512, 256), nn.BatchNorm1d(256), nn.ReLU(inplace=True),
                                  nn.Dropout(dropout), nn.Linear(256, num_classes))
        self.num_classes = num_classes

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        if points.ndim != 3 or points.shape[-1] != 3:
            raise BadInputError(None, f"pointnet: expected points [B, P, 3], got {tuple(points.shape)}")
        x = points.transpose(1, 2)                       # [B, 3, P]
        if self.tnet is not None:
            x = torch.bmm(self.tnet(x).transpose(1, 2), x)
        return self.head(self.features(x).amax(dim=2))   # global max-pool over points


def augment_point_clouds(points: torch.Tensor, generator: torch.Generator, scale_low: float = 0.8,
                         scale_high: float = 1.25, jitter_sigma: float = 0.01,
                         jitter_clip: float = 0.05) -> torch.Tensor:
    """Random anisotropic scaling (per cloud and axis, ``U(scale_low, scale_high)``) + clipped jitter.

    ``points [B, P, 3]`` on any device; random numbers come from ``generator`` (a CPU generator) and
    are moved to the points' device.
    """
    b, p, _ = points.shape
    scale = torch.empty(b, 1, 3).uniform_(scale_low, scale_high, generator=generator)
    noise = (torch.randn(b, p, 3, generator=generator) * jitter_sigma).clamp_(-jitter_clip, jitter_clip)
    return points * scale.to(points) + noise.to(points)


def _as_points(x: np.ndarray | torch.Tensor, name: str) -> torch.Tensor:
    t = (x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))).float()
    if t.ndim != 3 or t.shape[-1] != 3 or t.shape[0] == 0 or t.shape[1] == 0:
        raise BadInputError(None, f"{name}: expected point clouds [N, P, 3], got {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise BadInputError(None, f"{name}: contains NaN or Inf")
    return t


@torch.no_grad()
def _pointnet_logits(model: nn.Module, points: torch.Tensor, batch_size: int) -> torch.Tensor:
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = [model(points[i:i + batch_size].to(device)).float().cpu() for i in range(0, points.shape[0], batch_size)]
    model.train(was_training)
    return torch.cat(out)


def train_pointnet(train_points: np.ndarray | torch.Tensor, train_y: np.ndarray | torch.Tensor,
                   val_points: np.ndarray | torch.Tensor, val_y: np.ndarray | torch.Tensor,
                   cfg: PointNetConfig, num_classes: int | None = None,
                   device: str | torch.device | None = None,
                   progress: bool = True) -> tuple[PointNetClassifier, dict[str, list[float]]]:
    """Train PointNet with augmentation; return the best-validation-accuracy model and history.

    AdamW + cosine annealing per epoch, cross entropy. ``num_classes`` defaults to
    ``max(train_y) + 1``. Batches of one cloud are skipped (BatchNorm). History lists per epoch:
    ``train_loss``, ``val_loss``, ``val_accuracy``, ``lr``. The model is returned in eval mode.
    """
    dev = pick_device(device)
    pt = _as_points(train_points, "train_points")
    pv = _as_points(val_points, "val_points")
    c = int(num_classes) if num_classes is not None else int(np.max(np.asarray(train_y))) + 1
    yt = as_label_tensor(train_y, pt.shape[0], c, "train_y")
    yv = as_label_tensor(val_y, pv.shape[0], c, "val_y")
    if pt.shape[0] < 2:
        raise BadInputError(None, "train_points: need at least 2 training clouds")
    gen = torch.Generator().manual_seed(cfg.seed)
    n, bs = pt.shape[0], min(cfg.batch_size, pt.shape[0])
    history: dict[str, list[float]] = {"train_loss": [], "val_loss": [], "val_accuracy": [], "lr": []}
    devices = [dev.index or 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(cfg.seed)
        model = PointNetClassifier(c, cfg.input_transform, cfg.dropout).to(dev)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
        best_acc, best_state = -1.0, None
        bar = tqdm(range(cfg.epochs), desc="pointnet", disable=not progress)
        for _ in bar:
            model.train()
            order = torch.randperm(n, generator=gen)
            losses = []
            for s in range(0, n, bs):
                idx = order[s:s + bs]
                if idx.shape[0] < 2:
                    continue
                xb = augment_point_clouds(pt[idx].to(dev), gen, cfg.scale_low, cfg.scale_high,
                                          cfg.jitter_sigma, cfg.jitter_clip)
                loss = F.cross_entropy(model(xb), yt[idx].to(dev))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses.append(float(loss.detach()))
            sched.step()
            logits = _pointnet_logits(model, pv, bs)
            val_acc = float((logits.argmax(-1) == yv).float().mean())
            history["train_loss"].append(float(np.mean(losses)) if losses else float("nan"))
            history["val_loss"].append(float(F.cross_entropy(logits, yv)))
            history["val_accuracy"].append(val_acc)
            history["lr"].append(float(sched.get_last_lr()[0]))
            if val_acc > best_acc:
                best_acc, best_state = val_acc, copy.deepcopy(model.state_dict())
            bar.set_postfix(loss=history["train_loss"][-1], val_acc=val_acc, best=best_acc)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model, history


def evaluate_pointnet(model: nn.Module, points: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor,
                      num_classes: int, class_names: Sequence[str] | None = None,
                      batch_size: int = 32) -> dict[str, Any]:
    """Same dict as :func:`nf2vec_core.tasks.classification.evaluate_classifier` for point clouds."""
    p = _as_points(points, "points")
    yt = as_label_tensor(y, p.shape[0], num_classes, "y")
    pred = _pointnet_logits(model, p, batch_size).argmax(-1)
    out = classification_metrics(pred, yt, num_classes, class_names)
    out["predictions"] = pred.numpy().astype(np.int64)
    return out


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_callable(fn: Callable[[], Any], device: torch.device, repeats: int = 10,
                  warmup: int = 2) -> np.ndarray:
    """Wall-clock seconds ``[repeats]`` of ``fn()`` under ``torch.no_grad`` after ``warmup`` calls.

    CUDA is synchronised before and after each call when ``device`` is a GPU.
    """
    times = np.empty(repeats, dtype=np.float64)
    with torch.no_grad():
        for _ in range(warmup):
            fn()
        _sync(device)
        for i in range(repeats):
            t0 = time.perf_counter()
            fn()
            _sync(device)
            times[i] = time.perf_counter() - t0
    return times


def inference_timing(encode_classify_fn: Callable[[], Any], pointnet_model: nn.Module,
                     point_counts: Sequence[int] = (2048, 4096, 8192, 16384, 32768, 65536),
                     repeats: int = 10, device: str | torch.device | None = None,
                     sample_fn: Callable[[int], Any] | None = None, warmup: int = 2,
                     seed: int = 0, progress: bool = True) -> pd.DataFrame:
    """Per-sample (batch 1) classification latency vs point count (paper 000 Fig. 11).

    Methods (column ``method``):

    * ``"nf2vec"``: ``encode_classify_fn()`` — encode ONE NF's weights and classify the embedding
      (the caller binds the NF and models; independent of the point count, timed at each count).
    * ``"pointnet"``: PointNet on a cloud of ``n`` points already in memory (Fig. 11 left).
    * ``"nf_sample+pointnet"`` (only with ``sample_fn``): ``sample_fn(n) -> [n, 3]`` points
      reconstructed from the NF (e.g. by decoding its UDF), then PointNet (Fig. 11 right).

    Returns a DataFrame with columns ``method, n_points, latency_ms`` (median of ``repeats``),
    ``latency_mean_ms, latency_std_ms, repeats, device``.
    """
    dev = pick_device(device)
    if repeats < 1 or not point_counts or min(point_counts) < 1:
        raise BadInputError(None, f"inference_timing: need repeats >= 1 and positive point counts, got "
                                  f"{repeats}, {list(point_counts)}")
    model = pointnet_model.to(dev).eval()
    gen = torch.Generator().manual_seed(seed)
    rows: list[dict[str, Any]] = []

    def classify(pts: Any) -> torch.Tensor:
        p = torch.as_tensor(pts, dtype=torch.float32).to(dev).reshape(1, -1, 3)
        return model(p)

    for n in tqdm(list(point_counts), desc="timing", disable=not progress):
        cloud = (torch.rand(1, int(n), 3, generator=gen) * 2 - 1).to(dev)
        methods: dict[str, Callable[[], Any]] = {
            "nf2vec": encode_classify_fn,
            "pointnet": lambda c=cloud: model(c),
        }
        if sample_fn is not None:
            methods["nf_sample+pointnet"] = lambda n=int(n): classify(sample_fn(n))
        for name, fn in methods.items():
            t = time_callable(fn, dev, repeats, warmup) * 1e3
            rows.append({"method": name, "n_points": int(n), "latency_ms": float(np.median(t)),
                         "latency_mean_ms": float(t.mean()), "latency_std_ms": float(t.std()),
                         "repeats": int(repeats), "device": str(dev)})
    return pd.DataFrame(rows)


__all__ = ["PointNetConfig", "PointNetClassifier", "InputTNet", "augment_point_clouds", "train_pointnet",
           "evaluate_pointnet", "time_callable", "inference_timing"]

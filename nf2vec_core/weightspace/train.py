"""One training / evaluation loop for the weight-space classifiers (:mod:`.gnn`, :mod:`.mlp`).

Both models map flat NF vectors ``theta [B, P]`` to logits ``[B, C]`` and may expose
``fit_input_stats(theta_train)`` (feature standardisation from the training split), so the loop is
the same: AdamW, a per-batch one-cycle or cosine learning-rate schedule, cross entropy, gradient
clipping, validation after every epoch and the weights of the best validation epoch restored at
the end (highest accuracy; ties go to the lower validation loss, then the earlier epoch). Batches
of NFs are processed at once (the GNN builds the graphs of the whole batch with two gathers).
Deterministic from ``TrainConfig.seed`` on the CPU; the device is CUDA when available unless given.

Conventions as in :mod:`nf2vec_core.tasks.classification`: labels are int ``[N]`` in ``[0, C)``,
confusion matrices ``[C, C]`` int64 with rows = true class.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..errors import BadInputError, ConfigError
from ..nf.layout import ArchSpec
from ..runtime import pick_device
from ..tasks.classification import as_label_tensor, classification_metrics
from .gnn import GNNClassifier, GNNConfig
from .mlp import FlatMLPClassifier, FlatMLPConfig

ModelKind = Literal["gnn", "mlp"]
MODEL_KINDS: tuple[str, ...] = ("gnn", "mlp")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation of a weight-space classifier (the ``weightspace.train`` params section).

    ``schedule``: ``onecycle`` (``OneCycleLR``, peak ``lr``) or ``cosine`` (from ``lr`` to 0),
    both stepped per batch. ``grad_clip``: max global gradient norm (0 = off).
    """

    lr: float = 1e-3
    weight_decay: float = 1e-2
    epochs: int = 100
    batch_size: int = 32
    schedule: Literal["onecycle", "cosine"] = "onecycle"
    grad_clip: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not float(self.lr) > 0:
            raise ConfigError(f"weightspace.train.lr: must be > 0, got {self.lr}")
        if float(self.weight_decay) < 0:
            raise ConfigError(f"weightspace.train.weight_decay: must be >= 0, got {self.weight_decay}")
        if int(self.epochs) < 1:
            raise ConfigError(f"weightspace.train.epochs: must be >= 1, got {self.epochs}")
        if int(self.batch_size) < 1:
            raise ConfigError(f"weightspace.train.batch_size: must be >= 1, got {self.batch_size}")
        if self.schedule not in ("onecycle", "cosine"):
            raise ConfigError(f"weightspace.train.schedule: {self.schedule!r} is not one of "
                              f"['onecycle', 'cosine']")
        if float(self.grad_clip) < 0:
            raise ConfigError(f"weightspace.train.grad_clip: must be >= 0, got {self.grad_clip}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    """A trained classifier (best validation weights, eval mode) and its per-epoch history
    (``train_loss``, ``train_accuracy``, ``val_loss``, ``val_accuracy``, and ``lr``: the learning
    rate of the epoch's last batch)."""

    model: nn.Module
    history: dict[str, list[float]]
    best_epoch: int
    best_val_accuracy: float


@dataclass
class ClassificationRun:
    """Outcome of :func:`fit_and_evaluate`: test metrics, training history and the model."""

    accuracy: float
    per_class_accuracy: dict[str, float]
    confusion: np.ndarray
    predictions: np.ndarray
    history: dict[str, list[float]]
    best_epoch: int
    best_val_accuracy: float
    model: nn.Module = field(repr=False)

    def metrics(self) -> dict[str, Any]:
        """JSON-ready summary (no model, no arrays)."""
        return {"accuracy": self.accuracy, "per_class_accuracy": self.per_class_accuracy,
                "best_epoch": self.best_epoch, "best_val_accuracy": self.best_val_accuracy}


def build_classifier(kind: str, spec: ArchSpec, num_classes: int, *, gnn: GNNConfig = GNNConfig(),
                     mlp: FlatMLPConfig = FlatMLPConfig(), seed: int = 0) -> nn.Module:
    """A freshly initialised ``gnn`` or ``mlp`` classifier, its weights drawn from ``seed``."""
    if kind not in MODEL_KINDS:
        raise ConfigError(f"weightspace.models: unknown classifier {kind!r}; expected one of {list(MODEL_KINDS)}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        if kind == "gnn":
            return GNNClassifier(spec, num_classes, gnn)
        return FlatMLPClassifier(spec, num_classes, mlp)


def as_theta(theta: Any, name: str, num_params: int | None = None) -> torch.Tensor:
    """NF vectors as a finite float32 CPU tensor ``[N, P]`` (BadInputError naming ``name``)."""
    t = torch.as_tensor(theta if isinstance(theta, torch.Tensor) else np.asarray(theta))
    t = t.detach().to("cpu", torch.float32)
    if t.dim() != 2 or t.shape[0] == 0:
        raise BadInputError(None, f"{name}: expected a non-empty [N, P] matrix of NF vectors, got "
                                  f"shape {tuple(t.shape)}")
    if num_params is not None and t.shape[1] != num_params:
        raise BadInputError(None, f"{name}: NF vectors have {t.shape[1]} entries, the classifier "
                                  f"expects {num_params}")
    if not torch.isfinite(t).all():
        raise BadInputError(None, f"{name}: contains NaN or Inf")
    return t


def _num_params(model: nn.Module) -> int | None:
    spec = getattr(model, "spec", None)
    return spec.num_params if isinstance(spec, ArchSpec) else None


def _num_classes(model: nn.Module) -> int:
    c = getattr(model, "num_classes", None)
    if not isinstance(c, int) or c < 2:
        raise ConfigError("weightspace: the model must expose num_classes >= 2")
    return c


@torch.no_grad()
def predict_weight_logits(model: nn.Module, theta: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Logits ``[N, C]`` (CPU, float32) of ``model`` in eval mode; restores the training flag."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = [model(theta[i:i + batch_size].to(device)).float().cpu()
           for i in range(0, theta.shape[0], batch_size)]
    model.train(was_training)
    return torch.cat(out, dim=0)


def train_weight_classifier(model: nn.Module, train_theta: Any, train_y: Any, val_theta: Any, val_y: Any,
                            cfg: TrainConfig = TrainConfig(), *, device: str | torch.device | None = None,
                            progress: bool = True) -> TrainResult:
    """Train ``model`` (``[B, P]`` -> ``[B, C]``) on NF vectors; return the best-validation weights.

    Args:
        model: a :class:`GNNClassifier`, :class:`FlatMLPClassifier` or any module with
            ``num_classes`` (and optionally ``spec`` / ``fit_input_stats``).
        train_theta, val_theta: ``[N, P]`` NF vectors; train_y, val_y: ``[N]`` int labels.
        cfg: optimisation settings.
        device: torch device; ``None`` = CUDA if available.
        progress: show a tqdm bar (one tick per epoch).
    """
    num_classes = _num_classes(model)
    p = _num_params(model)
    xt, xv = as_theta(train_theta, "train_theta", p), as_theta(val_theta, "val_theta", p)
    if xt.shape[1] != xv.shape[1]:
        raise BadInputError(None, f"train/val NF vectors differ in length: {xt.shape[1]} vs {xv.shape[1]}")
    yt = as_label_tensor(train_y, xt.shape[0], num_classes, "train_y")
    yv = as_label_tensor(val_y, xv.shape[0], num_classes, "val_y")
    dev = pick_device(device)
    n = xt.shape[0]
    bs = min(int(cfg.batch_size), n)
    steps_per_epoch = (n + bs - 1) // bs
    total = int(cfg.epochs) * steps_per_epoch
    history: dict[str, list[float]] = {"train_loss": [], "train_accuracy": [], "val_loss": [],
                                       "val_accuracy": [], "lr": []}
    model.to(dev)
    xt_dev, yt_dev, xv_dev = xt.to(dev), yt.to(dev), xv.to(dev)
    stats = getattr(model, "fit_input_stats", None)
    if callable(stats):
        stats(xt_dev)
    gen = torch.Generator().manual_seed(int(cfg.seed))
    devices = [dev.index or 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(cfg.seed))
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        if cfg.schedule == "onecycle":
            sched: torch.optim.lr_scheduler.LRScheduler = torch.optim.lr_scheduler.OneCycleLR(
                opt, max_lr=cfg.lr, total_steps=total)
        else:
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
        best: tuple[float, float] = (-1.0, float("inf"))
        best_state, best_epoch = None, -1
        bar = tqdm(range(int(cfg.epochs)), desc=f"weightspace {type(model).__name__}", disable=not progress)
        for epoch in bar:
            model.train()
            order = torch.randperm(n, generator=gen).to(dev)
            loss_sum, correct, last_lr = 0.0, 0, float("nan")
            for s in range(0, n, bs):
                idx = order[s:s + bs]
                logits = model(xt_dev[idx])
                loss = F.cross_entropy(logits, yt_dev[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip > 0:
                    nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                last_lr = float(opt.param_groups[0]["lr"])
                sched.step()
                loss_sum += float(loss.detach()) * idx.shape[0]
                correct += int((logits.detach().argmax(-1) == yt_dev[idx]).sum())
            logits_v = predict_weight_logits(model, xv_dev)
            val_loss = float(F.cross_entropy(logits_v, yv))
            val_acc = float((logits_v.argmax(-1) == yv).float().mean())
            history["train_loss"].append(loss_sum / n)
            history["train_accuracy"].append(correct / n)
            history["val_loss"].append(val_loss)
            history["val_accuracy"].append(val_acc)
            history["lr"].append(last_lr)
            if val_acc > best[0] or (val_acc == best[0] and val_loss < best[1]):
                best, best_epoch = (val_acc, val_loss), epoch
                best_state = copy.deepcopy(model.state_dict())
            bar.set_postfix(loss=history["train_loss"][-1], val_acc=val_acc, best=best[0])
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TrainResult(model=model, history=history, best_epoch=best_epoch, best_val_accuracy=best[0])


def evaluate_weight_classifier(model: nn.Module, theta: Any, y: Any,
                               class_names: Sequence[str] | None = None,
                               batch_size: int = 256) -> dict[str, Any]:
    """Accuracy, per-class accuracy, confusion ``[C, C]`` and predictions ``[N]`` on NF vectors."""
    num_classes = _num_classes(model)
    xt = as_theta(theta, "theta", _num_params(model))
    yt = as_label_tensor(y, xt.shape[0], num_classes, "y")
    pred = predict_weight_logits(model, xt, batch_size).argmax(-1)
    out = classification_metrics(pred, yt, num_classes, class_names)
    out["predictions"] = pred.numpy().astype(np.int64)
    return out


def fit_and_evaluate(model: nn.Module, train: tuple[Any, Any], val: tuple[Any, Any], test: tuple[Any, Any],
                     cfg: TrainConfig = TrainConfig(), *, class_names: Sequence[str] | None = None,
                     device: str | torch.device | None = None, progress: bool = True) -> ClassificationRun:
    """Train on ``train = (theta, y)``, select on ``val``, evaluate on ``test``."""
    res = train_weight_classifier(model, train[0], train[1], val[0], val[1], cfg, device=device,
                                  progress=progress)
    ev = evaluate_weight_classifier(res.model, test[0], test[1], class_names)
    return ClassificationRun(accuracy=ev["accuracy"], per_class_accuracy=ev["per_class_accuracy"],
                             confusion=ev["confusion"], predictions=ev["predictions"],
                             history=res.history, best_epoch=res.best_epoch,
                             best_val_accuracy=res.best_val_accuracy, model=res.model)


__all__ = ["TrainConfig", "TrainResult", "ClassificationRun", "build_classifier", "as_theta",
           "predict_weight_logits", "train_weight_classifier", "evaluate_weight_classifier",
           "fit_and_evaluate", "MODEL_KINDS", "ModelKind"]

"""Shape classification from nf2vec embeddings (paper 000 §V, Table III).

A fully connected classifier (``Linear -> BatchNorm1d -> ReLU -> Dropout`` blocks, then a linear
head) trained with AdamW + ``OneCycleLR`` on embeddings augmented online with E-Stitchup.

References
----------
* Paper 000 (nf2vec) §V "Shape classification": "a simple fully connected classifier ...
  augmented online with E-Stitchup [50]".
* [50] C. R. Wolfe, K. T. Lundgaard, "E-Stitchup: Data augmentation for pre-trained embeddings",
  arXiv:1912.00772. E-Stitchup draws a mixing ratio ``lam ~ Beta(alpha, alpha)`` for a pair of
  embeddings and builds a new embedding whose coordinates are taken at random from the first
  embedding (with probability ``lam``) or the second; the target is the mixture of the two one-hot
  labels (here weighted by the fraction of coordinates actually taken from each, so the label
  matches the sample exactly). See :func:`e_stitchup`.
* The public inr2vec trainer (``pcd_retrieval_and_classification/train_classifier.py``) uses a
  same-class variant (partner drawn from the same class, hard label) and APPENDS the stitched
  samples to the clean batch; we keep the appending (clean samples are always seen) but mix across
  classes with soft labels, as in [50]. Its classifier is ``1024 -> 512 -> 256 -> C``, i.e.
  ``ClassifierConfig(hidden=(512, 256))`` on 1024-d embeddings; lr 1e-4, weight decay 1e-2, 150
  epochs, batch 256.

Conventions: embeddings ``x`` are float ``[N, D]``; labels ``y`` are int ``[N]`` in ``[0, C)``;
soft labels are float ``[N, C]`` rows summing to 1. Confusion matrices are ``[C, C]`` int64 with
rows = true class and columns = predicted class.
"""
from __future__ import annotations

import contextlib
import copy
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal, Sequence, get_args

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..errors import BadInputError, ConfigError
from ..runtime import pick_device, torch_threads
from ..store.treefile import load_tree, save_tree

ArrayLike = np.ndarray | torch.Tensor
SelectRule = Literal["val_accuracy", "val_loss", "last"]
SELECT_RULES: tuple[str, ...] = get_args(SelectRule)


@dataclass(frozen=True)
class ClassifierConfig:
    """Options of the embedding classifier and its training.

    ``hidden``: widths of the hidden ``Linear/BN/ReLU/Dropout`` blocks (the head maps the last one
    to the classes). ``stitchup``: E-Stitchup online augmentation; ``stitchup_alpha`` is the Beta
    parameter of the mixing ratio (1.0 = uniform). ``select`` picks the epoch whose weights are
    kept: the highest validation accuracy (first on ties; paper 004's protocol), the lowest
    validation loss, or the last epoch. With a small validation split the accuracy moves in steps
    of one sample, and its maximum over all epochs is a noisy pick; the loss is smooth (README
    has the comparison on the embedded shapes).
    """

    hidden: tuple[int, ...] = (1024, 512, 256)
    dropout: float = 0.5
    lr: float = 1e-4
    weight_decay: float = 1e-2
    epochs: int = 150
    batch_size: int = 256
    stitchup: bool = True
    stitchup_alpha: float = 1.0
    select: SelectRule = "val_accuracy"
    seed: int = 0
    views: bool = False          # stage option: also train (and select) on the embeddings of other fits

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if self.select not in SELECT_RULES:
            raise ConfigError(f"classifier.select: one of {SELECT_RULES}, got {self.select!r}")
        if any(h <= 0 for h in self.hidden):
            raise ConfigError(f"classifier.hidden: widths must be > 0, got {self.hidden}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ConfigError(f"classifier.dropout: must be in [0, 1), got {self.dropout}")
        if not float(self.lr) > 0:
            raise ConfigError(f"classifier.lr: must be > 0, got {self.lr}")
        if float(self.weight_decay) < 0:
            raise ConfigError(f"classifier.weight_decay: must be >= 0, got {self.weight_decay}")
        if int(self.epochs) < 1:
            raise ConfigError(f"classifier.epochs: must be >= 1, got {self.epochs}")
        if int(self.batch_size) < 2:
            raise ConfigError(f"classifier.batch_size: must be >= 2 (BatchNorm), got {self.batch_size}")
        if not float(self.stitchup_alpha) > 0:
            raise ConfigError(f"classifier.stitchup_alpha: must be > 0, got {self.stitchup_alpha}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ClassifierConfig":
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"classifier: unknown keys {sorted(unknown)}")
        return cls(**d)


class EmbeddingClassifier(nn.Module):
    """MLP classifier: ``[B, D] -> [B, C]`` logits.

    ``hidden`` blocks are ``Linear -> BatchNorm1d -> ReLU -> Dropout(dropout)``; the head is a
    plain ``Linear``.
    """

    def __init__(self, in_dim: int, num_classes: int, hidden: Sequence[int] = (1024, 512, 256),
                 dropout: float = 0.5) -> None:
        super().__init__()
        if in_dim < 1 or num_classes < 2:
            raise ConfigError(f"classifier: need in_dim >= 1 and num_classes >= 2, got {in_dim}, {num_classes}")
        layers: list[nn.Module] = []
        prev = in_dim
        for width in hidden:
            layers += [nn.Linear(prev, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True),
                       nn.Dropout(dropout)]
            prev = width
        layers.append(nn.Linear(prev, num_classes))
        self.net = nn.Sequential(*layers)
        self.in_dim = in_dim
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def e_stitchup(x: torch.Tensor, y_onehot: torch.Tensor, rng: np.random.Generator,
               alpha: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """E-Stitchup (Wolfe & Lundgaard 2019): stitch each embedding with a random partner of the batch.

    For each row ``i`` a partner ``j = perm[i]`` (random permutation of the batch) and a ratio
    ``lam_i ~ Beta(alpha, alpha)`` are drawn; coordinate ``d`` of the new embedding is
    ``x[i, d]`` with probability ``lam_i`` and ``x[j, d]`` otherwise (independent Bernoulli mask).
    The soft label is ``f_i * y[i] + (1 - f_i) * y[j]`` with ``f_i`` the fraction of coordinates
    actually taken from ``x[i]``.

    Args:
        x: ``[B, D]`` embeddings (any device / float dtype).
        y_onehot: ``[B, C]`` one-hot or soft labels (rows summing to 1).
        rng: numpy generator driving permutation, ratios and masks (deterministic from its seed).
        alpha: Beta parameter of the mixing ratio.

    Returns:
        ``(x_mix [B, D], y_mix [B, C])`` on ``x``'s device, dtypes of the inputs.
    """
    if x.ndim != 2 or y_onehot.ndim != 2 or x.shape[0] != y_onehot.shape[0]:
        raise BadInputError(None, f"e_stitchup: expected x [B, D] and y [B, C], got {tuple(x.shape)}, "
                                  f"{tuple(y_onehot.shape)}")
    b, d = x.shape
    perm = torch.from_numpy(rng.permutation(b)).to(x.device)
    lam = rng.beta(alpha, alpha, size=(b, 1))
    mask_np = rng.random((b, d)) < lam
    mask = torch.from_numpy(mask_np).to(x.device)
    x_mix = torch.where(mask, x, x[perm])
    frac = torch.from_numpy(mask_np.mean(axis=1, keepdims=True)).to(device=y_onehot.device,
                                                                    dtype=y_onehot.dtype)
    y_mix = frac * y_onehot + (1.0 - frac) * y_onehot[perm.to(y_onehot.device)]
    return x_mix, y_mix


def soft_cross_entropy(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of ``-sum_c target[c] * log_softmax(logits)[c]``; shapes ``[B, C]``."""
    return -(target * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()


def _as_float_tensor(x: ArrayLike, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).float()
    if t.ndim != 2 or t.shape[0] == 0:
        raise BadInputError(None, f"{name}: expected a non-empty [N, D] array, got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise BadInputError(None, f"{name}: contains NaN or Inf")
    return t


def as_label_tensor(y: ArrayLike, n: int, num_classes: int, name: str) -> torch.Tensor:
    """Labels as int64 ``[n]``, checked to lie in ``[0, num_classes)``."""
    t = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y).long().reshape(-1)
    if t.shape[0] != n:
        raise BadInputError(None, f"{name}: expected {n} labels, got {t.shape[0]}")
    if n and (int(t.min()) < 0 or int(t.max()) >= num_classes):
        raise BadInputError(None, f"{name}: labels must lie in [0, {num_classes}), "
                                  f"got range [{int(t.min())}, {int(t.max())}]")
    return t


@torch.no_grad()
def predict_logits(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """Logits ``[N, C]`` (CPU) of ``model`` in eval mode, batched; restores the training flag."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = [model(x[i:i + batch_size].to(device)).float().cpu() for i in range(0, x.shape[0], batch_size)]
    model.train(was_training)
    return torch.cat(out, dim=0)


def classification_metrics(pred: ArrayLike, y: ArrayLike, num_classes: int,
                           class_names: Sequence[str] | None = None) -> dict[str, Any]:
    """Accuracy, per-class accuracy and confusion matrix of integer predictions.

    Returns ``dict(accuracy: float, per_class_accuracy: {name: acc}, confusion: int64 [C, C])``
    (rows true, columns predicted); a class absent from ``y`` has per-class accuracy ``None``
    (``null`` in the metrics JSON, which has no NaN).
    """
    pred_np = np.asarray(pred.cpu() if isinstance(pred, torch.Tensor) else pred).astype(np.int64).reshape(-1)
    y_np = np.asarray(y.cpu() if isinstance(y, torch.Tensor) else y).astype(np.int64).reshape(-1)
    if pred_np.shape != y_np.shape or y_np.size == 0:
        raise BadInputError(None, f"classification_metrics: {pred_np.shape} predictions vs {y_np.shape} labels")
    names = list(class_names) if class_names is not None else [str(c) for c in range(num_classes)]
    if len(names) != num_classes:
        raise BadInputError(None, f"class_names: expected {num_classes} names, got {len(names)}")
    conf = np.bincount(y_np * num_classes + pred_np, minlength=num_classes * num_classes)
    conf = conf.reshape(num_classes, num_classes).astype(np.int64)
    support = conf.sum(axis=1)
    per_class = np.diag(conf) / np.maximum(support, 1)
    return {
        "accuracy": float((pred_np == y_np).mean()),
        "per_class_accuracy": {n: float(a) if k > 0 else None for n, a, k in zip(names, per_class, support)},
        "confusion": conf,
    }


def train_classifier(train_x: ArrayLike, train_y: ArrayLike, val_x: ArrayLike, val_y: ArrayLike,
                     cfg: ClassifierConfig, num_classes: int,
                     device: str | torch.device | None = None,
                     progress: bool = True) -> tuple[EmbeddingClassifier, dict[str, list[float]]]:
    """Train an :class:`EmbeddingClassifier`; return the best-validation-accuracy model and history.

    AdamW (``cfg.lr``, ``cfg.weight_decay``) with ``OneCycleLR(max_lr=cfg.lr)`` stepped per batch,
    soft-label cross entropy; with ``cfg.stitchup`` each batch is extended with its E-Stitchup
    copy. Validation runs after every epoch; the weights of the epoch chosen by ``cfg.select``
    (highest validation accuracy or lowest validation loss, first one on ties, or the last epoch)
    are restored at the end. Batches of a single sample are skipped
    (BatchNorm). Deterministic from ``cfg.seed`` on CPU, where it runs on one thread
    (:func:`~nf2vec_core.runtime.torch_threads`), so the result does not depend on the core count.

    Args:
        train_x, val_x: ``[N, D]`` embeddings; train_y, val_y: ``[N]`` int labels in ``[0, C)``.
        num_classes: ``C``.
        device: torch device; ``None`` = CUDA if available.

    Returns:
        ``(model in eval mode on device, history)`` with history lists ``train_loss``,
        ``val_loss``, ``val_accuracy``, ``lr`` (one entry per epoch).
    """
    dev = pick_device(device)
    xt = _as_float_tensor(train_x, "train_x")
    xv = _as_float_tensor(val_x, "val_x")
    if xt.shape[1] != xv.shape[1]:
        raise BadInputError(None, f"train/val embedding sizes differ: {xt.shape[1]} vs {xv.shape[1]}")
    yt = as_label_tensor(train_y, xt.shape[0], num_classes, "train_y")
    yv = as_label_tensor(val_y, xv.shape[0], num_classes, "val_y")
    if xt.shape[0] < 2:
        raise BadInputError(None, "train_x: need at least 2 training embeddings")

    rng = np.random.default_rng(cfg.seed)
    n = xt.shape[0]
    bs = min(int(cfg.batch_size), n)
    steps_per_epoch = max(1, sum(1 for s in range(0, n, bs) if n - s >= 2))
    history: dict[str, list[float]] = {"train_loss": [], "val_loss": [], "val_accuracy": [], "lr": []}

    devices = [dev.index or 0] if dev.type == "cuda" else []
    threads = torch_threads(1) if dev.type == "cpu" else contextlib.nullcontext()
    with threads, torch.random.fork_rng(devices=devices):
        torch.manual_seed(cfg.seed)
        model = EmbeddingClassifier(xt.shape[1], num_classes, cfg.hidden, cfg.dropout).to(dev)
        opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr,
                                                    total_steps=cfg.epochs * steps_per_epoch)
        best_score, best_state = -math.inf, None
        xt_dev, yt_dev = xt.to(dev), yt.to(dev)
        xv_dev = xv.to(dev)
        bar = tqdm(range(cfg.epochs), desc="classifier", disable=not progress)
        for _ in bar:
            model.train()
            order = torch.from_numpy(rng.permutation(n)).to(dev)
            losses = []
            for s in range(0, n, bs):
                idx = order[s:s + bs]
                if idx.shape[0] < 2:
                    continue
                xb, yb = xt_dev[idx], F.one_hot(yt_dev[idx], num_classes).float()
                if cfg.stitchup:
                    xs, ys = e_stitchup(xb, yb, rng, cfg.stitchup_alpha)
                    xb, yb = torch.cat([xb, xs]), torch.cat([yb, ys])
                loss = soft_cross_entropy(model(xb), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                losses.append(float(loss.detach()))
            logits = predict_logits(model, xv_dev)
            val_loss = float(F.cross_entropy(logits, yv))
            val_acc = float((logits.argmax(-1) == yv).float().mean())
            history["train_loss"].append(float(np.mean(losses)) if losses else float("nan"))
            history["val_loss"].append(val_loss)
            history["val_accuracy"].append(val_acc)
            history["lr"].append(float(sched.get_last_lr()[0]))
            if cfg.select != "last":
                score = val_acc if cfg.select == "val_accuracy" else -val_loss
                if score > best_score:
                    best_score, best_state = score, copy.deepcopy(model.state_dict())
            bar.set_postfix(loss=history["train_loss"][-1], val_acc=val_acc)
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model, history


def evaluate_classifier(model: nn.Module, x: ArrayLike, y: ArrayLike, num_classes: int,
                        class_names: Sequence[str] | None = None,
                        batch_size: int = 1024) -> dict[str, Any]:
    """Evaluate ``model`` on embeddings ``x [N, D]`` with labels ``y [N]``.

    Returns ``dict(accuracy, per_class_accuracy {name: acc}, confusion int64 [C, C],
    predictions int64 [N])``; see :func:`classification_metrics`.
    """
    xt = _as_float_tensor(x, "x")
    yt = as_label_tensor(y, xt.shape[0], num_classes, "y")
    pred = predict_logits(model, xt, batch_size).argmax(-1)
    out = classification_metrics(pred, yt, num_classes, class_names)
    out["predictions"] = pred.numpy().astype(np.int64)
    return out


def with_views(x: ArrayLike, y: ArrayLike, view_x: ArrayLike, view_y: ArrayLike) -> tuple[torch.Tensor, torch.Tensor]:
    """A split's embeddings and labels followed by those of its items' other fits (views)."""
    x, y = torch.as_tensor(x).float(), torch.as_tensor(y).long()
    if len(view_x) == 0:
        return x, y
    view_x = torch.as_tensor(view_x).float()
    if view_x.shape[1:] != x.shape[1:]:
        raise BadInputError(None, f"view embeddings are {tuple(view_x.shape[1:])}-d, the split's {tuple(x.shape[1:])}")
    return torch.cat([x, view_x]), torch.cat([y, torch.as_tensor(view_y).long()])


def save_classifier(path: str | Path, model: EmbeddingClassifier, cfg: ClassifierConfig,
                    class_names: Sequence[str]) -> None:
    """Write a trained classifier (weights, config, sizes, class names) atomically."""
    save_tree(path, {"state_dict": dict(model.state_dict()), "config": cfg.to_dict(), "in_dim": model.in_dim,
                     "num_classes": model.num_classes, "classes": list(class_names)})


def load_classifier(path: str | Path) -> tuple[EmbeddingClassifier, list[str]]:
    """The classifier written by :func:`save_classifier` (eval mode, CPU) and its class names."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(path, "classifier not found: run the stage that trains it first")
    ck = load_tree(path)
    missing = {"state_dict", "config", "in_dim", "num_classes"} - set(ck)
    if missing:
        raise BadInputError(path, f"not a saved embedding classifier (missing {sorted(missing)})")
    cfg = ClassifierConfig.from_dict(ck["config"])
    model = EmbeddingClassifier(ck["in_dim"], ck["num_classes"], cfg.hidden, cfg.dropout)
    model.load_state_dict(ck["state_dict"])
    return model.eval(), list(ck.get("classes", [str(c) for c in range(ck["num_classes"])]))


__all__ = [
    "ClassifierConfig", "EmbeddingClassifier", "e_stitchup", "soft_cross_entropy", "train_classifier",
    "evaluate_classifier", "classification_metrics", "predict_logits",
    "as_label_tensor", "with_views", "save_classifier", "load_classifier",
]


"""Part segmentation from nf2vec embeddings (paper 000 §V "Point cloud part segmentation", Fig. 12,
Table IV): a decoder fed with the frozen embedding of a shape's NF, its class one-hot and a 3-D
query point predicts the part label of the query.

The decoder is the nf2vec implicit decoder (:class:`~nf2vec_core.decoders.implicit.ImplicitDecoder`:
positional-encoded point, DeepSDF skip) conditioned on ``[embedding; one-hot(category)]`` with one
output per global part id (:mod:`nf2vec_core.data.parts`); trained with cross entropy over all
parts, as the ShapeNet-Part baselines are. At prediction time the labels are restricted to the
parts of the shape's category (:func:`predict_parts`), as the benchmark's evaluation does.

The training loop (:func:`train_segmenter`) is shared with the PointNet segmentation baseline
(:mod:`.pointnet_seg`): AdamW with cosine decay per epoch, batches of whole shapes, validation
after each epoch, and the weights of the epoch with the best validation instance mIoU (or class
mIoU, or the last epoch: ``select``) kept. Deterministic from ``seed`` (CPU runs on
``cpu_threads`` threads; see :func:`~nf2vec_core.runtime.torch_threads`).

Conventions: points float ``[N, P, 3]``; labels int64 ``[N, P]`` global part ids; class ids
int64 ``[N]`` (the category's index in the taxonomy); embeddings float ``[N, D]``.
"""
from __future__ import annotations

import contextlib
import copy
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Literal, get_args

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..data.parts import PartTaxonomy
from ..decoders.implicit import ImplicitDecoder, ImplicitDecoderConfig
from ..errors import BadInputError, ConfigError
from ..metrics.segmentation import part_segmentation_scores
from ..runtime import pick_device, torch_threads
from ..store.treefile import load_tree, save_tree

SegSelect = Literal["val_instance_miou", "val_class_miou", "last"]
SEG_SELECT_RULES: tuple[str, ...] = get_args(SegSelect)
ArrayLike = np.ndarray | torch.Tensor


# ------------------------------------------------------------------------------- data
@dataclass(frozen=True)
class PartSplit:
    """The shapes of one split: points, global part labels, class ids and (optional) embeddings."""

    points: torch.Tensor
    labels: torch.Tensor
    class_ids: torch.Tensor
    embeddings: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.points.shape[0])

    def take(self, idx: torch.Tensor) -> "PartSplit":
        """The shapes ``idx`` (a 1-D index tensor)."""
        return PartSplit(self.points[idx], self.labels[idx], self.class_ids[idx],
                         None if self.embeddings is None else self.embeddings[idx])


def _tensor(x: ArrayLike, dtype: torch.dtype) -> torch.Tensor:
    return (x if isinstance(x, torch.Tensor) else torch.tensor(np.asarray(x))).to(dtype)


def part_split(points: ArrayLike, labels: ArrayLike, class_ids: ArrayLike, taxonomy: PartTaxonomy,
               embeddings: ArrayLike | None = None, name: str = "split") -> PartSplit:
    """A checked :class:`PartSplit`: shapes agree, values are finite, every label is a part of its
    shape's category (a :class:`BadInputError` naming ``name`` otherwise)."""
    pts, lab, cls = _tensor(points, torch.float32), _tensor(labels, torch.int64), _tensor(class_ids, torch.int64)
    if pts.ndim != 3 or pts.shape[-1] != 3 or pts.shape[0] == 0 or pts.shape[1] == 0:
        raise BadInputError(None, f"{name}: expected points [N, P, 3], got {tuple(pts.shape)}")
    if lab.shape != pts.shape[:2] or cls.shape != pts.shape[:1]:
        raise BadInputError(None, f"{name}: labels {tuple(lab.shape)} and class ids {tuple(cls.shape)} do not "
                                  f"match points {tuple(pts.shape)} (expected [N, P] and [N])")
    if not torch.isfinite(pts).all():
        raise BadInputError(None, f"{name}: points contain NaN or Inf")
    if int(cls.min()) < 0 or int(cls.max()) >= taxonomy.num_categories:
        raise BadInputError(None, f"{name}: class ids must lie in [0, {taxonomy.num_categories}), "
                                  f"got [{int(cls.min())}, {int(cls.max())}]")
    if int(lab.min()) < 0 or int(lab.max()) >= taxonomy.num_parts:
        raise BadInputError(None, f"{name}: part labels must lie in [0, {taxonomy.num_parts}), "
                                  f"got [{int(lab.min())}, {int(lab.max())}]")
    owner = torch.as_tensor(taxonomy.owner())[lab]
    wrong = owner != cls[:, None]
    if wrong.any():
        n = int(wrong.any(dim=1).nonzero()[0, 0])
        raise BadInputError(None, f"{name}: shape {n} ({taxonomy.categories[int(cls[n])]}) has points labelled with "
                                  f"parts of another category")
    emb = None
    if embeddings is not None:
        emb = _tensor(embeddings, torch.float32)
        if emb.ndim != 2 or emb.shape[0] != pts.shape[0]:
            raise BadInputError(None, f"{name}: expected embeddings [{pts.shape[0]}, D], got {tuple(emb.shape)}")
        if not torch.isfinite(emb).all():
            raise BadInputError(None, f"{name}: embeddings contain NaN or Inf")
    return PartSplit(pts, lab, cls, emb)


# -------------------------------------------------------------------------- prediction
def restrict_to_category(logits: torch.Tensor, class_ids: torch.Tensor, taxonomy: PartTaxonomy) -> torch.Tensor:
    """``logits [B, P, K]`` with the parts of other categories than each shape's set to ``-inf``."""
    mask = torch.as_tensor(taxonomy.mask(), device=logits.device)[class_ids.to(logits.device)]  # [B, K]
    return logits.masked_fill(~mask[:, None, :], float("-inf"))


def predict_parts(logits: torch.Tensor, class_ids: torch.Tensor, taxonomy: PartTaxonomy) -> torch.Tensor:
    """Global part id int64 ``[B, P]`` per point: the best part *of the shape's category*."""
    return restrict_to_category(logits, class_ids, taxonomy).argmax(dim=-1)


@torch.no_grad()
def segment(model: nn.Module, split: PartSplit, taxonomy: PartTaxonomy, batch_size: int = 16
            ) -> tuple[torch.Tensor, float]:
    """``(predicted global part ids int64 [N, P] (CPU), mean cross entropy)`` of ``model(points,
    class_ids, embeddings)`` in eval mode, ``batch_size`` shapes at a time; the training flag is restored."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    preds, loss_sum = [], 0.0
    for s in range(0, len(split), batch_size):
        b = split.take(torch.arange(s, min(s + batch_size, len(split))))
        emb = None if b.embeddings is None else b.embeddings.to(device)
        logits = model(b.points.to(device), b.class_ids.to(device), emb).float()
        loss_sum += float(F.cross_entropy(logits.flatten(0, 1), b.labels.to(device).flatten(), reduction="sum"))
        preds.append(predict_parts(logits, b.class_ids, taxonomy).cpu())
    model.train(was_training)
    return torch.cat(preds), loss_sum / split.labels.numel()


def split_scores(pred: ArrayLike, split: PartSplit, taxonomy: PartTaxonomy) -> dict[str, Any]:
    """:func:`~nf2vec_core.metrics.segmentation.part_segmentation_scores` of predictions ``[N, P]``
    on ``split`` (per-category entries for every category of the taxonomy)."""
    cats = [taxonomy.categories[int(c)] for c in split.class_ids]
    return part_segmentation_scores(pred, split.labels, cats, taxonomy.parts_of())


def evaluate_segmenter(model: nn.Module, split: PartSplit, taxonomy: PartTaxonomy,
                       batch_size: int = 16) -> dict[str, Any]:
    """Benchmark scores of ``model`` on ``split`` (:func:`split_scores`) with ``loss`` and
    ``predictions`` (int64 ``[N, P]``) added."""
    pred, loss = segment(model, split, taxonomy, batch_size)
    out = split_scores(pred, split, taxonomy)
    out["loss"] = loss
    out["predictions"] = pred.numpy().astype(np.int64)
    return out


# ---------------------------------------------------------------------------- training
@dataclass(frozen=True)
class SegTrainConfig:
    """Training options shared by the segmentation models: AdamW with cosine decay per epoch,
    ``batch_size`` shapes per step, selection rule, seed and CPU threads (0 = leave torch's count)."""

    lr: float = 1e-3
    weight_decay: float = 1e-4
    epochs: int = 100
    batch_size: int = 16
    select: SegSelect = "val_instance_miou"
    seed: int = 0
    cpu_threads: int = 1

    def __post_init__(self) -> None:
        name = type(self).__name__
        if self.select not in SEG_SELECT_RULES:
            raise ConfigError(f"{name}.select: one of {SEG_SELECT_RULES}, got {self.select!r}")
        if not float(self.lr) > 0 or float(self.weight_decay) < 0:
            raise ConfigError(f"{name}: need lr > 0 and weight_decay >= 0, got {self.lr}, {self.weight_decay}")
        if int(self.epochs) < 1 or int(self.batch_size) < 2:
            raise ConfigError(f"{name}: need epochs >= 1 and batch_size >= 2 (BatchNorm), got "
                              f"{self.epochs}, {self.batch_size}")
        if int(self.cpu_threads) < 0:
            raise ConfigError(f"{name}.cpu_threads: must be >= 0, got {self.cpu_threads}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]):
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ConfigError(f"{cls.__name__}: unknown keys {sorted(unknown)}")
        return cls(**d)


BatchTransform = Callable[[PartSplit, torch.Generator], PartSplit]


def train_segmenter(build: Callable[[], nn.Module], train: PartSplit, val: PartSplit, taxonomy: PartTaxonomy,
                    cfg: SegTrainConfig, transform: BatchTransform | None = None,
                    device: str | torch.device | None = None, desc: str = "segmenter",
                    progress: bool = True) -> tuple[nn.Module, dict[str, list[float]]]:
    """Train the model ``build()`` returns, ``model(points [B,P,3], class_ids [B], embeddings [B,D] |
    None) -> logits [B,P,K]``, with cross entropy; ``transform(batch, generator)`` changes each
    training batch (augmentation, point subsampling). Returns the model of the epoch picked by
    ``cfg.select`` (eval mode) and the history lists ``train_loss, val_loss, val_instance_miou,
    val_class_miou, lr`` (one per epoch). The model is built and trained under :func:`_seeded`, so
    its initialisation, dropout and the batch order all follow ``cfg.seed``.
    """
    dev = pick_device(device)
    if len(train) < 2:
        raise BadInputError(None, "train: need at least 2 training shapes")
    with _seeded(cfg, dev):
        return _train(build().to(dev), train, val, taxonomy, cfg, transform, dev, desc, progress)


def _train(model: nn.Module, train: PartSplit, val: PartSplit, taxonomy: PartTaxonomy, cfg: SegTrainConfig,
           transform: BatchTransform | None, dev: torch.device, desc: str,
           progress: bool) -> tuple[nn.Module, dict[str, list[float]]]:
    gen = torch.Generator().manual_seed(int(cfg.seed))
    n, bs = len(train), min(int(cfg.batch_size), len(train))
    history: dict[str, list[float]] = {k: [] for k in ("train_loss", "val_loss", "val_instance_miou",
                                                       "val_class_miou", "lr")}
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    best, best_state = -1.0, None
    key = {"val_instance_miou": "instance_miou", "val_class_miou": "class_miou"}.get(cfg.select)
    bar = tqdm(range(cfg.epochs), desc=desc, disable=not progress)
    for _ in bar:
        model.train()
        order = torch.randperm(n, generator=gen)
        losses = []
        for s in range(0, n, bs):
            idx = order[s:s + bs]
            if idx.shape[0] < 2:   # BatchNorm needs two samples
                continue
            b = train.take(idx)
            if transform is not None:
                b = transform(b, gen)
            emb = None if b.embeddings is None else b.embeddings.to(dev)
            logits = model(b.points.to(dev), b.class_ids.to(dev), emb)
            loss = F.cross_entropy(logits.flatten(0, 1), b.labels.to(dev).flatten())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        sched.step()
        pred, val_loss = segment(model, val, taxonomy, bs)
        scores = split_scores(pred, val, taxonomy)
        history["train_loss"].append(float(np.mean(losses)) if losses else float("nan"))
        history["val_loss"].append(val_loss)
        history["val_instance_miou"].append(scores["instance_miou"])
        history["val_class_miou"].append(scores["class_miou"])
        history["lr"].append(float(sched.get_last_lr()[0]))
        if key is not None and scores[key] > best:
            best, best_state = scores[key], copy.deepcopy(model.state_dict())
        bar.set_postfix(loss=history["train_loss"][-1], val_miou=scores["instance_miou"])
    if best_state is not None:
        model.load_state_dict(best_state)
    return model.eval(), history


@contextlib.contextmanager
def _seeded(cfg: SegTrainConfig, dev: torch.device):
    """Torch's global RNG seeded with ``cfg.seed`` (restored afterwards) and, on CPU with
    ``cfg.cpu_threads > 0``, that many intra-op threads."""
    devices = [dev.index or 0] if dev.type == "cuda" else []
    threads = torch_threads(int(cfg.cpu_threads)) if dev.type == "cpu" and cfg.cpu_threads > 0 \
        else contextlib.nullcontext()
    with threads, torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(cfg.seed))
        yield


# ------------------------------------------------------------------ embedding decoder
@dataclass(frozen=True)
class PartDecoderConfig(SegTrainConfig):
    """The part decoder on frozen embeddings: implicit-decoder sizes (``hidden``, ``layers``,
    ``pe_freqs``, ``skip``; paper 000: 5 hidden layers of 512) and ``points_per_shape`` query points
    drawn at random from each training shape per step (0 = all its points)."""

    hidden: int = 512
    layers: int = 5
    pe_freqs: int = 8
    skip: bool = True
    points_per_shape: int = 2048

    def __post_init__(self) -> None:
        super().__post_init__()
        if int(self.points_per_shape) < 0:
            raise ConfigError(f"PartDecoderConfig.points_per_shape: must be >= 0, got {self.points_per_shape}")
        self.decoder_config()   # checks the sizes

    def decoder_config(self) -> ImplicitDecoderConfig:
        return ImplicitDecoderConfig(int(self.hidden), int(self.layers), int(self.pe_freqs), bool(self.skip))


class PartDecoder(nn.Module):
    """``forward(points [B,P,3], class_ids [B], embeddings [B,D]) -> logits [B,P,K]``: the implicit
    decoder conditioned on ``[embedding; one-hot(class)]``, one output per global part."""

    def __init__(self, embed_dim: int, num_categories: int, num_parts: int,
                 cfg: ImplicitDecoderConfig | None = None) -> None:
        super().__init__()
        if embed_dim < 1 or num_categories < 1 or num_parts < 2:
            raise ConfigError(f"part decoder: need embed_dim >= 1, num_categories >= 1, num_parts >= 2; got "
                              f"{embed_dim}, {num_categories}, {num_parts}")
        self.embed_dim, self.num_categories, self.num_parts = int(embed_dim), int(num_categories), int(num_parts)
        self.decoder = ImplicitDecoder(self.embed_dim + self.num_categories, 3, self.num_parts, cfg)

    def forward(self, points: torch.Tensor, class_ids: torch.Tensor,
                embeddings: torch.Tensor | None = None) -> torch.Tensor:
        if embeddings is None:
            raise BadInputError(None, "part decoder: needs the shapes' embeddings")
        onehot = F.one_hot(class_ids.long(), self.num_categories).to(embeddings)
        return self.decoder(torch.cat([embeddings, onehot], dim=-1), points.to(embeddings.dtype))


def subsample_points(count: int) -> BatchTransform:
    """A batch transform keeping ``count`` random points of every shape (all when ``count`` is 0
    or not smaller than the shapes' point count)."""
    def transform(b: PartSplit, gen: torch.Generator) -> PartSplit:
        p = b.points.shape[1]
        if count <= 0 or count >= p:
            return b
        idx = torch.rand(len(b), p, generator=gen).argsort(dim=1)[:, :count]
        return PartSplit(torch.gather(b.points, 1, idx[..., None].expand(-1, -1, 3)),
                         torch.gather(b.labels, 1, idx), b.class_ids, b.embeddings)
    return transform


def train_part_decoder(train: PartSplit, val: PartSplit, taxonomy: PartTaxonomy, cfg: PartDecoderConfig,
                       device: str | torch.device | None = None,
                       progress: bool = True) -> tuple[PartDecoder, dict[str, list[float]]]:
    """Train a :class:`PartDecoder` on the (frozen) embeddings of ``train`` (:func:`train_segmenter`)."""
    for name, split in (("train", train), ("val", val)):
        if split.embeddings is None:
            raise BadInputError(None, f"{name}: the part decoder needs embeddings")
    if train.embeddings.shape[1] != val.embeddings.shape[1]:
        raise BadInputError(None, f"train/val embedding sizes differ: {train.embeddings.shape[1]} vs "
                                  f"{val.embeddings.shape[1]}")
    def build() -> PartDecoder:
        return PartDecoder(train.embeddings.shape[1], taxonomy.num_categories, taxonomy.num_parts,
                           cfg.decoder_config())
    return train_segmenter(build, train, val, taxonomy, cfg, subsample_points(int(cfg.points_per_shape)),
                           device, "part decoder", progress)


def save_part_decoder(path: str | Path, model: PartDecoder, cfg: PartDecoderConfig, taxonomy: PartTaxonomy) -> None:
    """Write a trained part decoder (weights, config, taxonomy) atomically."""
    save_tree(path, {"state_dict": dict(model.state_dict()), "config": cfg.to_dict(), "embed_dim": model.embed_dim,
                     "categories": list(taxonomy.categories), "counts": list(taxonomy.counts)})


def load_part_decoder(path: str | Path) -> tuple[PartDecoder, PartTaxonomy]:
    """The decoder written by :func:`save_part_decoder` (eval mode, CPU) and its taxonomy."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(path, "part decoder not found: run the stage that trains it first")
    ck = load_tree(path)
    missing = {"state_dict", "config", "embed_dim", "categories", "counts"} - set(ck)
    if missing:
        raise BadInputError(path, f"not a saved part decoder (missing {sorted(missing)})")
    taxonomy = PartTaxonomy(tuple(ck["categories"]), tuple(ck["counts"]))
    cfg = PartDecoderConfig.from_dict(ck["config"])
    model = PartDecoder(ck["embed_dim"], taxonomy.num_categories, taxonomy.num_parts, cfg.decoder_config())
    model.load_state_dict(ck["state_dict"])
    return model.eval(), taxonomy


__all__ = ["PartSplit", "part_split", "restrict_to_category", "predict_parts", "segment", "split_scores",
           "evaluate_segmenter", "SegTrainConfig", "train_segmenter", "PartDecoderConfig", "PartDecoder",
           "subsample_points", "train_part_decoder", "save_part_decoder", "load_part_decoder", "SEG_SELECT_RULES"]

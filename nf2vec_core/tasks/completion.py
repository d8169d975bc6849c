"""Shape completion by a transfer between embedding spaces (paper 000 §V, Figs. 16-17).

Partial shapes of every item (:mod:`nf2vec_core.data.partial`: a random half-space crop, or what
one camera sees) are fitted as NFs with the dataset's shared init and fitting settings and embedded
by nf2vec; a transfer MLP (:mod:`.transfer`, MSE) learns on the training items to map the partial
shape's embedding to the complete shape's, and the nf2vec decoder turns the mapped embedding of an
unseen test item into its completion (:mod:`.decoded`).

Completions are scored against the complete shape's ground-truth surface with the Chamfer
distance and the F-score (:mod:`nf2vec_core.metrics.geometry`), beside

* ``partial_input``: the partial surface itself (what there is to complete);
* ``nearest_train``: a retrieval baseline, the complete ground-truth surface of the training item
  whose *partial* embedding is nearest (:func:`nearest_partial`);
* ``complete_embedding``: the decoded embedding of the complete shape's own NF (the ceiling a
  perfect transfer reaches through this decoder).

Everything chosen is chosen on the validation items: the transfer MLP's epoch (lowest validation
loss) and, for occupancy/SDF decodes with ``level`` unset, the decoder's iso-level of each decoded
set (:func:`~.reconstruction.decoder_level`, against the complete shapes' voxels).
:func:`complete_shapes` runs it all on a dataset's complete and partial NFs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch

from ..data.partial import PartialParams
from ..decoders.implicit import ImplicitDecoder
from ..encoders.rows import RowEncoder, encode
from ..errors import BadInputError, ConfigError
from ..metrics.geometry import nearest_sq_dist
from ..store.neural_dataset import NeuralDataset
from ..store.prepared import PreparedData
from .decoded import decode_clouds, subsample_clouds
from .reconstruction import ReconstructParams, decoder_level
from .transfer import TransferParams, train_transfer

__all__ = ["CompletionParams", "Completion", "check_pairs", "nearest_partial", "cloud_scores",
           "completion_report", "complete_shapes"]


@dataclass(frozen=True)
class CompletionParams:
    """A ``completion`` section: partial shapes, the transfer MLP, decoding and scoring."""

    partial: PartialParams = field(default_factory=PartialParams)
    transfer: TransferParams = field(default_factory=TransferParams)
    n_points: int = 2048           # points of a decoded cloud
    resolution: int = 64           # marching-cubes grid of occupancy/SDF decodes
    fscore_threshold: float = 0.01
    n_figure: int = 4              # test items in the figure (spread over the split)
    level: Optional[float] = None  # decoder iso-level; None: chosen on validation items (occupancy)
    n_calibration: int = 80        # validation items that choose it

    def __post_init__(self) -> None:
        if int(self.n_points) < 1 or int(self.resolution) < 2 or int(self.n_figure) < 1:
            raise ConfigError(f"completion: need n_points >= 1, resolution >= 2, n_figure >= 1; got "
                              f"{self.n_points}, {self.resolution}, {self.n_figure}")
        if not float(self.fscore_threshold) > 0:
            raise ConfigError(f"completion.fscore_threshold: must be > 0, got {self.fscore_threshold}")


def nearest_partial(query: torch.Tensor, train_partial: torch.Tensor) -> torch.Tensor:
    """Row of the nearest (L2) training partial embedding ``train_partial [N, D]`` of each query
    partial embedding ``query [B, D]``: the item whose complete shape the retrieval baseline returns."""
    query, train_partial = torch.as_tensor(query).float(), torch.as_tensor(train_partial).float()
    if (query.ndim != 2 or train_partial.ndim != 2 or query.shape[1] != train_partial.shape[1]
            or len(train_partial) == 0):
        raise BadInputError(None, f"nearest_partial: need embeddings [B, D] and [N >= 1, D], got "
                                  f"{tuple(query.shape)}, {tuple(train_partial.shape)}")
    return torch.cdist(query, train_partial, compute_mode="donot_use_mm_for_euclid_dist").argmin(1)


def cloud_scores(pred: torch.Tensor, gt: torch.Tensor, threshold: float = 0.01) -> dict[str, torch.Tensor]:
    """Per-shape Chamfer distance and F-score ``[B]`` of clouds ``pred [B, N, 3]`` against ``gt [B, M, 3]``
    (:func:`~nf2vec_core.metrics.geometry.chamfer_distance`, :func:`~nf2vec_core.metrics.geometry.f_score`),
    from one nearest-point search each way."""
    d_pred, d_gt = nearest_sq_dist(pred, gt), nearest_sq_dist(gt, pred)
    precision = (d_pred <= threshold ** 2).float().mean(1)
    recall = (d_gt <= threshold ** 2).float().mean(1)
    both = precision + recall
    fscore = torch.where(both > 0, 2 * precision * recall / both.clamp_min(1e-12), torch.zeros_like(both))
    return {"chamfer": d_pred.mean(1) + d_gt.mean(1), "fscore": fscore}


def completion_report(gt: torch.Tensor, clouds: dict[str, torch.Tensor], threshold: float = 0.01
                      ) -> dict[str, dict[str, float]]:
    """Mean (and spread, ``*_std``) over the test items of :func:`cloud_scores` of each named set
    of clouds ``[B, *, 3]`` (row for row of the ground truth ``gt [B, M, 3]``)."""
    out: dict[str, dict[str, float]] = {}
    for name, pred in clouds.items():
        if pred.ndim != 3 or pred.shape[0] != gt.shape[0]:
            raise BadInputError(None, f"completion_report: {name!r} holds {tuple(pred.shape)}, not one cloud per "
                                      f"ground-truth shape ({gt.shape[0]})")
        s = cloud_scores(pred, gt, threshold)
        out[name] = {**{k: float(v.mean()) for k, v in s.items()},
                     **{f"{k}_std": float(np.std(v.numpy())) for k, v in s.items()}}
    return out


def check_pairs(complete: NeuralDataset, partial: NeuralDataset) -> None:
    """:class:`BadInputError` unless the partial NFs are those of the complete NFs' items, in the
    same order and splits, fitted with the same architecture from the same shared init (the
    encoder reads only NFs of that weight space)."""
    if partial.spec != complete.spec:
        raise BadInputError(partial.root, f"NFs of another architecture than {complete.root} (refit the partial "
                                          f"shapes with the nf section of the complete ones)")
    if not torch.equal(partial.init, complete.init):
        raise BadInputError(partial.root, f"NFs fitted from another init than {complete.root} (refit the partial "
                                          f"shapes with the fit section of the complete ones)")
    cols = ["id", "split"]
    if not partial.index[cols].reset_index(drop=True).equals(complete.index[cols].reset_index(drop=True)):
        raise BadInputError(partial.root, f"holds other items (or splits) than {complete.root}")


@dataclass(frozen=True)
class Completion:
    """What :func:`complete_shapes` found: the ``summary`` (the stage's results), the test items'
    clouds by name (``ground_truth`` and each scored set) and their class names."""

    summary: dict
    clouds: dict[str, torch.Tensor]
    names: list[str]


def complete_shapes(encoder: RowEncoder, decoder: ImplicitDecoder, complete: NeuralDataset, partial: NeuralDataset,
                    prepared: PreparedData, partial_prepared: PreparedData, p: CompletionParams,
                    emb: torch.Tensor, progress: bool = True) -> Completion:
    """Shape completion on a dataset (module docs): embed the partial NFs, train the transfer to
    the complete NFs' embeddings ``emb [N, D]`` (the embed stage's, one row per item of
    ``complete``, in its order) on the training items (epoch chosen on validation), decode the
    mapped embeddings of the test items and score them, beside the partial input, the nearest
    training shape and the decoded complete embedding, against the complete ground-truth
    surfaces (``prepared``; the partial surfaces are ``partial_prepared``'s)."""
    check_pairs(complete, partial)
    if emb.dim() != 2 or emb.shape[0] != len(complete.index) or emb.shape[1] != encoder.embed_dim:
        raise BadInputError(complete.root, f"need one {encoder.embed_dim}-d embedding per item "
                                           f"({len(complete.index)}), got {tuple(emb.shape)}")
    for data in (prepared, partial_prepared):
        if data.index["id"].tolist() != complete.index["id"].tolist():
            raise BadInputError(data.root, f"holds other items than {complete.root}")
    t0 = time.perf_counter()
    rows = {s: complete.split_rows(s) for s in ("train", "val", "test")}
    empty = [s for s, r in rows.items() if not r]
    if empty:
        raise BadInputError(complete.root, f"completion needs train, val and test items; no {', '.join(empty)} item")
    sel = {s: torch.as_tensor(r) for s, r in rows.items()}
    part = encode(encoder, partial.spec, partial.params(), progress=progress)
    t1 = time.perf_counter()
    net, hist = train_transfer(part[sel["train"]], emb[sel["train"]], part[sel["val"]], emb[sel["val"]], p.transfer,
                               progress=progress, desc="transfer partial -> complete embeddings")
    train_seconds = time.perf_counter() - t1
    with torch.no_grad():
        mapped = net(part)
    kind, clip = prepared.kind, float(prepared.meta.get("clip", 0.1))
    rp = ReconstructParams(level=p.level, n_calibration=p.n_calibration)
    to_decode = {"nf2vec_completion": mapped, "complete_embedding": emb}
    levels = {name: decoder_level(rp, decoder, e, rows["val"], prepared, kind, clip)[0] for name, e in to_decode.items()}
    test = sel["test"]
    decoded = {name: decode_clouds(decoder, e[test], kind, clip, p.n_points, p.resolution, levels[name],
                                   progress=progress, desc=f"decode {name.replace('_', ' ')}")
               for name, e in to_decode.items()}
    surface = prepared.tensor("surface")
    nearest = nearest_partial(part[test], part[sel["train"]])
    clouds = {"partial_input": subsample_clouds(partial_prepared.tensor("surface")[test], p.n_points),
              "nf2vec_completion": decoded["nf2vec_completion"],
              "nearest_train": subsample_clouds(surface[sel["train"]][nearest], p.n_points),
              "complete_embedding": decoded["complete_embedding"]}
    gt = surface[test]
    own, l2 = emb[test], (mapped[test] - emb[test]).pow(2).sum(-1)
    best = int(np.argmin(hist["val_loss"]))
    summary = {"n_train": len(rows["train"]), "n_val": len(rows["val"]), "n_test": len(rows["test"]),
               "transfer": {"best_epoch": best, "best_val_loss": float(hist["val_loss"][best]),
                            "test_l2": float(l2.mean()),
                            "test_relative_l2": float(l2.mean() / own.pow(2).sum(-1).mean()),
                            "test_relative_l2_partial": float((part[test] - own).pow(2).sum(-1).mean()
                                                              / own.pow(2).sum(-1).mean())},
               "levels": levels,
               "scores": completion_report(gt, clouds, p.fscore_threshold),
               "train_seconds": round(train_seconds, 2), "seconds": round(time.perf_counter() - t0, 2)}
    names = complete.index["class_name"].to_numpy()[rows["test"]].tolist()
    return Completion(summary, {"ground_truth": gt, **clouds}, names)

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
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..data.partial import PartialParams
from ..errors import BadInputError, ConfigError
from ..metrics.geometry import nearest_sq_dist
from .transfer import TransferParams

__all__ = ["CompletionParams", "nearest_partial", "cloud_scores", "completion_report"]


@dataclass(frozen=True)
class CompletionParams:
    """A ``completion`` section: partial shapes, the transfer MLP, decoding and scoring."""

    partial: PartialParams = field(default_factory=PartialParams)
    transfer: TransferParams = field(default_factory=TransferParams)
    n_points: int = 2048           # points of a decoded cloud
    resolution: int = 64           # marching-cubes grid of occupancy/SDF decodes
    fscore_threshold: float = 0.01
    n_figure: int = 4              # test items in the figure (spread over the split)

    def __post_init__(self) -> None:
        if int(self.n_points) < 1 or int(self.resolution) < 2 or int(self.n_figure) < 0:
            raise ConfigError(f"completion: need n_points >= 1, resolution >= 2, n_figure >= 0; got "
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

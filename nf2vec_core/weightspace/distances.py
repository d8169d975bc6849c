"""Parameter-space statistics of neural datasets (paper 004 §2.1 / §4, RQ1).

Paper 004 argues that NFs fitted from a *shared* initialisation stay close in parameter space,
which makes learning on their weights easier than with per-NF random initialisations. These
helpers measure that directly on the flat vectors:

* :func:`pairwise_distances` / :func:`pairwise_distance_values`: Euclidean (or cosine) distances
  between NF vectors, batched as one ``torch.cdist`` per block of rows;
* :func:`distance_histogram`: histograms of several distance sets on common bins (shared vs
  random init), with :func:`distance_summary` statistics;
* :func:`weights_kmeans_nmi`: k-means (sklearn) on the raw weights and the normalised mutual
  information of its clusters with the class labels (:func:`nf2vec_core.metrics.clustering.kmeans_nmi`).

Non-trainable entries (RFFNet's Fourier matrix) are dropped when a ``spec`` is given, so a frozen
random matrix does not dominate the distances.
"""
from __future__ import annotations

from typing import Literal, Mapping

import numpy as np
import torch

from ..errors import BadInputError
from ..metrics.clustering import kmeans_nmi
from ..nf.layout import ArchSpec, trainable_mask

Metric = Literal["l2", "cosine"]


def trainable_part(theta: torch.Tensor, spec: ArchSpec | None) -> torch.Tensor:
    """``theta [N, P]`` restricted to the trainable entries of ``spec`` (all when ``spec`` is None)."""
    if theta.dim() != 2 or theta.shape[0] == 0:
        raise BadInputError(None, f"weightspace.distances: expected NF vectors [N, P], got {tuple(theta.shape)}")
    if not torch.isfinite(theta).all():
        raise BadInputError(None, "weightspace.distances: NF vectors contain NaN or Inf")
    if spec is None:
        return theta
    if theta.shape[1] != spec.num_params:
        raise BadInputError(None, f"weightspace.distances: vectors have {theta.shape[1]} entries, "
                                  f"{spec.family} {spec.depth}x{spec.hidden} expects {spec.num_params}")
    ranges = trainable_mask(spec)
    if len(ranges) == 1 and ranges[0] == (0, spec.num_params):
        return theta
    return torch.cat([theta[:, a:b] for a, b in ranges], dim=1)


def pairwise_distances(theta: torch.Tensor, other: torch.Tensor | None = None, *, metric: Metric = "l2",
                       spec: ArchSpec | None = None, block: int = 1024) -> torch.Tensor:
    """Distances ``[N, M]`` (float64, CPU) between the rows of ``theta`` and ``other`` (default
    ``theta`` itself). ``l2``: Euclidean; ``cosine``: ``1 - cos``. ``block`` rows at a time."""
    if metric not in ("l2", "cosine"):
        raise BadInputError(None, f"pairwise_distances: unknown metric {metric!r}; expected 'l2' or 'cosine'")
    a = trainable_part(theta, spec).double()
    b = a if other is None else trainable_part(other, spec).double()
    if a.shape[1] != b.shape[1]:
        raise BadInputError(None, f"pairwise_distances: vector lengths differ ({a.shape[1]} vs {b.shape[1]})")
    if metric == "cosine":
        a = a / a.norm(dim=1, keepdim=True).clamp_min(1e-12)
        b = b / b.norm(dim=1, keepdim=True).clamp_min(1e-12)
    rows = []
    for s in range(0, a.shape[0], block):
        blk = a[s:s + block]
        rows.append(torch.cdist(blk, b) if metric == "l2" else 1.0 - blk @ b.T)
    out = torch.cat(rows).cpu()
    if other is None:
        out.fill_diagonal_(0.0)
    return out


def pairwise_distance_values(theta: torch.Tensor, *, metric: Metric = "l2", spec: ArchSpec | None = None) -> torch.Tensor:
    """The ``N (N - 1) / 2`` distances between distinct NFs of ``theta`` (upper triangle), float64."""
    if theta.shape[0] < 2:
        raise BadInputError(None, f"pairwise_distance_values: need at least 2 NFs, got {theta.shape[0]}")
    d = pairwise_distances(theta, metric=metric, spec=spec)
    i, j = torch.triu_indices(d.shape[0], d.shape[0], offset=1)
    return d[i, j]


def distance_summary(values: torch.Tensor) -> dict[str, float]:
    """Mean, std, min, median and max of a set of distances."""
    v = torch.as_tensor(values).double().reshape(-1)
    if v.numel() == 0:
        raise BadInputError(None, "distance_summary: no distances")
    return {"mean": float(v.mean()), "std": float(v.std(unbiased=False)), "min": float(v.min()),
            "median": float(v.median()), "max": float(v.max())}


def distance_histogram(groups: Mapping[str, torch.Tensor], bins: int = 50) -> dict[str, np.ndarray]:
    """Histograms of several distance sets on common bins.

    Returns ``{"edges": [bins + 1], name: counts [bins] for each group}`` (bins span the union's
    min..max), e.g. ``distance_histogram({"shared": d_shared, "random": d_random})``.
    """
    if not groups:
        raise BadInputError(None, "distance_histogram: no distance sets given")
    if int(bins) < 1:
        raise BadInputError(None, f"distance_histogram: bins must be >= 1, got {bins}")
    arrays = {k: np.asarray(torch.as_tensor(v).double().reshape(-1)) for k, v in groups.items()}
    if any(a.size == 0 for a in arrays.values()):
        raise BadInputError(None, "distance_histogram: a distance set is empty")
    if "edges" in arrays:
        raise BadInputError(None, "distance_histogram: 'edges' is reserved, rename that group")
    lo = min(float(a.min()) for a in arrays.values())
    hi = max(float(a.max()) for a in arrays.values())
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, int(bins) + 1)
    out: dict[str, np.ndarray] = {"edges": edges}
    for k, a in arrays.items():
        out[k] = np.histogram(a, bins=edges)[0].astype(np.int64)
    return out


def weights_kmeans_nmi(theta: torch.Tensor, labels: np.ndarray | torch.Tensor, *, spec: ArchSpec | None = None,
                       n_clusters: int | None = None, standardize: bool = False, seed: int = 0) -> float:
    """NMI between k-means clusters of the raw NF weights and ``labels`` (0 = unrelated, 1 = equal).

    ``standardize`` z-scores every coordinate first (constant coordinates become 0).
    """
    x = trainable_part(theta, spec).double()
    if standardize:
        std = x.std(0, unbiased=False)
        x = (x - x.mean(0)) / torch.where(std > 1e-12, std, torch.ones_like(std))
    return kmeans_nmi(x, labels, n_clusters=n_clusters, seed=seed)


__all__ = ["trainable_part", "pairwise_distances", "pairwise_distance_values", "distance_summary",
           "distance_histogram", "weights_kmeans_nmi"]

"""Clustering quality of an embedding space: k-means + normalised mutual information with classes."""
from __future__ import annotations

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score

from ..errors import BadInputError


def kmeans_nmi(x: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor,
               n_clusters: int | None = None, seed: int = 0) -> float:
    """NMI (arithmetic normalisation, in ``[0, 1]``) between k-means clusters of ``x`` and ``labels``.

    Args:
        x: ``[N, D]`` embeddings.
        labels: ``[N]`` class labels.
        n_clusters: number of k-means clusters; default the number of distinct labels.
        seed: k-means ``random_state`` (10 restarts).
    """
    xa = (x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)).astype(np.float64)
    ya = (labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)).reshape(-1)
    if xa.ndim != 2 or xa.shape[0] != ya.shape[0] or xa.shape[0] < 2:
        raise BadInputError(None, f"kmeans_nmi: expected x [N>=2, D] and labels [N], got {xa.shape}, {ya.shape}")
    if not np.isfinite(xa).all():
        raise BadInputError(None, "kmeans_nmi: embeddings contain NaN or Inf")
    k = int(n_clusters) if n_clusters is not None else int(np.unique(ya).size)
    k = max(1, min(k, xa.shape[0]))
    pred = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(xa)
    return float(normalized_mutual_info_score(ya, pred))


__all__ = ["kmeans_nmi"]

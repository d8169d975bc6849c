"""Structure of the latent space: t-SNE projection (paper 000 Fig. 9) and k-means NMI."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.manifold import TSNE

from ..errors import BadInputError
from ..metrics.clustering import kmeans_nmi


def _np2d(x: np.ndarray | torch.Tensor, name: str) -> np.ndarray:
    a = (x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)).astype(np.float64)
    if a.ndim != 2 or a.shape[0] < 2 or not np.isfinite(a).all():
        raise BadInputError(None, f"{name}: expected finite [N>=2, D] embeddings, got shape {a.shape}")
    return a


def clamp_perplexity(perplexity: float, n: int) -> float:
    """Perplexity usable with ``n`` samples: at most ``(n - 1) / 3`` (and < n), at least 1."""
    return float(max(1.0, min(float(perplexity), (n - 1) / 3.0)))


def tsne_2d(x: np.ndarray | torch.Tensor, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """2-D t-SNE of embeddings ``x [N, D]`` -> float32 ``[N, 2]`` (PCA init, deterministic from ``seed``).

    The perplexity is clamped with :func:`clamp_perplexity` so small sets work.
    """
    a = _np2d(x, "tsne_2d")
    if a.shape[0] < 4:
        raise BadInputError(None, f"tsne_2d: need at least 4 embeddings, got {a.shape[0]}")
    tsne = TSNE(n_components=2, perplexity=clamp_perplexity(perplexity, a.shape[0]), init="pca",
                random_state=seed, learning_rate="auto")
    return tsne.fit_transform(a).astype(np.float32)


def latent_report(x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, seed: int = 0) -> dict[str, Any]:
    """``dict(nmi, n_clusters, n)``: k-means (k = number of classes) NMI of embeddings vs classes."""
    a = _np2d(x, "latent_report")
    ya = (y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)).reshape(-1)
    k = int(np.unique(ya).size)
    return {"nmi": kmeans_nmi(a, ya, k, seed), "n_clusters": k, "n": int(a.shape[0])}


__all__ = ["tsne_2d", "latent_report", "clamp_perplexity"]

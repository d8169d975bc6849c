"""Leave-one-out shape retrieval over test embeddings (paper 000 §V, Table II).

Every test embedding queries all the others (itself excluded); scores as defined in
:mod:`nf2vec_core.metrics.retrieval`. ``hit@k`` is the number paper 000 reports as "mAP@k"; ``map@k``
is the true mean average precision (``Z = min(k, R)``, ``R`` = other test items of the query's
class).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ..errors import BadInputError
from ..metrics.retrieval import (hit_rate_at_k, knn, mean_average_precision_at_k, precision_at_k,
                                 recall_at_k)


def retrieval_report(test_x: np.ndarray | torch.Tensor, test_y: np.ndarray | torch.Tensor,
                     ks: Sequence[int] = (1, 5, 10), chunk_size: int = 1024) -> dict[str, float]:
    """Leave-one-out retrieval scores of embeddings ``test_x [N, D]`` with classes ``test_y [N]``.

    Returns ``{"map@k", "precision@k", "hit@k", "recall@k"}`` for each ``k`` in ``ks`` plus
    ``"n_queries"``. Requires ``max(ks) <= N - 1``.
    """
    y = (test_y.detach().cpu().numpy() if isinstance(test_y, torch.Tensor) else np.asarray(test_y)).reshape(-1)
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise BadInputError(None, f"retrieval_report: ks must be positive, got {ks}")
    n = y.shape[0]
    if ks[-1] > n - 1:
        raise BadInputError(None, f"retrieval_report: k={ks[-1]} needs more than {n} test embeddings")
    idx = knn(test_x, test_x, ks[-1], exclude_self=True, chunk_size=chunk_size).cpu().numpy()
    retrieved = y[idx]
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    num_relevant = counts[inverse] - 1
    out: dict[str, float] = {"n_queries": float(n)}
    for k in ks:
        out[f"map@{k}"] = mean_average_precision_at_k(y, retrieved, k, num_relevant)
        out[f"precision@{k}"] = precision_at_k(y, retrieved, k)
        out[f"hit@{k}"] = hit_rate_at_k(y, retrieved, k)
        out[f"recall@{k}"] = recall_at_k(y, retrieved, k, num_relevant)
    return out


__all__ = ["retrieval_report"]

"""k-nearest-neighbour retrieval and its class-based scores (paper 000 §V, Tables II and V).

Conventions: a query's neighbours are ranked by Euclidean distance, nearest first (``knn``).
``retrieved_labels [N, k']`` holds the class labels of those neighbours; an item is *relevant* to a
query when it has the query's class. ``rel[n, i] = retrieved_labels[n, i] == query_labels[n]``.

Scores (each a mean over queries, in ``[0, 1]``):

* :func:`mean_average_precision_at_k` — TRUE mAP@k: ``AP@k = (1 / Z) * sum_{i<=k} P@i * rel_i``
  with ``P@i`` the precision of the first ``i`` results and ``Z = min(k, R)``, ``R`` the number of
  relevant items in the gallery (when ``num_relevant`` is given), or ``Z`` = number of relevant
  items among the first ``k`` (when it is not). ``AP = 0`` when ``Z = 0``.
* :func:`precision_at_k` — ``(#relevant among the first k) / k``.
* :func:`hit_rate_at_k` — 1 if at least one of the first ``k`` is relevant, else 0. THIS is what
  the public inr2vec / nf2vec reference code computes (``get_recalls`` in
  ``pcd_retrieval_and_classification/retrieval.py``: ``count_nonzero(classes_matched ==
  label_query) > 0``, printed as "Recall@k") and what paper 000 reports as "mAP@k" in Tables II
  and V (hence its scores increase with ``k``).
* :func:`recall_at_k` — ``(#relevant among the first k) / R``.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import BadInputError

ArrayLike = np.ndarray | torch.Tensor


def _to_numpy(a: ArrayLike) -> np.ndarray:
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def knn(query: ArrayLike, gallery: ArrayLike, k: int, exclude_self: bool = False,
        chunk_size: int = 1024) -> torch.Tensor:
    """Indices ``[N, k]`` (int64, on the query's device) of the ``k`` nearest gallery items.

    Euclidean distances via ``torch.cdist``, computed in chunks of ``chunk_size`` queries (memory
    ``chunk_size * M``). With ``exclude_self`` the query set IS the gallery (``N == M``) and query
    ``n`` never retrieves gallery item ``n`` (leave-one-out). Results are sorted nearest first.
    """
    q = torch.as_tensor(query).float() if not isinstance(query, torch.Tensor) else query.float()
    g = torch.as_tensor(gallery).float() if not isinstance(gallery, torch.Tensor) else gallery.float()
    g = g.to(q.device)
    if q.ndim != 2 or g.ndim != 2 or q.shape[1] != g.shape[1]:
        raise BadInputError(None, f"knn: expected query [N, D] and gallery [M, D], got {tuple(q.shape)}, "
                                  f"{tuple(g.shape)}")
    if exclude_self and q.shape[0] != g.shape[0]:
        raise BadInputError(None, f"knn: exclude_self needs query == gallery, got {q.shape[0]} vs {g.shape[0]}")
    available = g.shape[0] - int(exclude_self)
    if not 1 <= k <= available:
        raise BadInputError(None, f"knn: k={k} but only {available} gallery items can be retrieved")
    out = []
    for s in range(0, q.shape[0], chunk_size):
        d = torch.cdist(q[s:s + chunk_size], g)
        if exclude_self:
            rows = torch.arange(d.shape[0], device=d.device)
            d[rows, rows + s] = float("inf")
        out.append(torch.topk(d, k, dim=1, largest=False, sorted=True).indices)
    return torch.cat(out, dim=0)


def relevance(query_labels: ArrayLike, retrieved_labels: ArrayLike, k: int) -> np.ndarray:
    """Boolean ``[N, k]``: whether each of the first ``k`` retrieved items has the query's class."""
    ql = _to_numpy(query_labels).reshape(-1)
    rl = _to_numpy(retrieved_labels)
    if rl.ndim != 2 or rl.shape[0] != ql.shape[0] or ql.shape[0] == 0:
        raise BadInputError(None, f"retrieval: expected query labels [N] and retrieved labels [N, k], "
                                  f"got {ql.shape}, {rl.shape}")
    if not 1 <= k <= rl.shape[1]:
        raise BadInputError(None, f"retrieval: k={k} outside [1, {rl.shape[1]}] retrieved items")
    return rl[:, :k] == ql[:, None]


def mean_average_precision_at_k(query_labels: ArrayLike, retrieved_labels: ArrayLike, k: int,
                                num_relevant: ArrayLike | int | None = None) -> float:
    """TRUE mAP@k (see the module docstring for the normalisation ``Z``).

    Args:
        query_labels: ``[N]`` classes of the queries.
        retrieved_labels: ``[N, k']`` classes of the ranked results, ``k' >= k``.
        k: cut-off.
        num_relevant: ``R`` per query (``[N]`` or a scalar): relevant items in the gallery. When
            given, ``Z = min(k, R)``; when ``None``, ``Z`` = relevant items among the first ``k``.
    """
    rel = relevance(query_labels, retrieved_labels, k).astype(np.float64)
    ranks = np.arange(1, k + 1, dtype=np.float64)
    prec_at_i = np.cumsum(rel, axis=1) / ranks
    num = (prec_at_i * rel).sum(axis=1)
    if num_relevant is None:
        z = rel.sum(axis=1)
    else:
        r = np.broadcast_to(_to_numpy(num_relevant).astype(np.float64), (rel.shape[0],))
        z = np.minimum(float(k), r)
    ap = np.divide(num, z, out=np.zeros_like(num), where=z > 0)
    return float(ap.mean())


def precision_at_k(query_labels: ArrayLike, retrieved_labels: ArrayLike, k: int) -> float:
    """Mean over queries of ``(#same-class among the first k) / k``."""
    return float(relevance(query_labels, retrieved_labels, k).mean())


def hit_rate_at_k(query_labels: ArrayLike, retrieved_labels: ArrayLike, k: int) -> float:
    """Fraction of queries with at least one same-class item among the first ``k`` (paper "mAP@k")."""
    return float(relevance(query_labels, retrieved_labels, k).any(axis=1).mean())


def recall_at_k(query_labels: ArrayLike, retrieved_labels: ArrayLike, k: int,
                num_relevant: ArrayLike | int) -> float:
    """Mean over queries of ``(#same-class among the first k) / R``; queries with ``R = 0`` count 0."""
    rel = relevance(query_labels, retrieved_labels, k)
    r = np.broadcast_to(_to_numpy(num_relevant).astype(np.float64), (rel.shape[0],))
    hits = rel.sum(axis=1).astype(np.float64)
    return float(np.divide(hits, r, out=np.zeros_like(hits), where=r > 0).mean())


__all__ = ["knn", "relevance", "mean_average_precision_at_k", "precision_at_k", "hit_rate_at_k",
           "recall_at_k"]

"""Tasks across NeRF architectures on frozen embeddings (Ballerini et al. 2025, "Embed Any NeRF",
§4.2-4.3 and appendix A): classification with the classifier trained on one set of architectures
and tested on another (Tables 1-4), instance-level retrieval of the same object in another
architecture (Table 5) and class-level retrieval (Table 6).

Inputs: a split's embeddings per architecture name (``MLP``, ``TRI``, ``MLP-2L``, ...), all of the
same objects in the same row order (:class:`ArchEmbeddings`). A *set* of architectures is a name of
:data:`ARCH_SETS` (``BOTH``: ``MLP`` and ``TRI`` together) or one architecture name; its items are
the objects' embeddings of each member, member after member.

Retrieval (Euclidean nearest neighbours; the query itself is never in its own gallery, which
matters when query and gallery sets share an architecture, e.g. ``BOTH`` vs ``BOTH``):

* instance recall@k: the share of queries whose ``k`` nearest gallery items contain the same
  object (necessarily in another architecture);
* class recall@k (Wang et al. 2017): the share of queries whose ``k`` nearest gallery items contain
  an item of the query's class.

Both are :func:`nf2vec_core.metrics.retrieval.hit_rate_at_k` on the neighbours' object ids or
classes. Classification: :func:`nf2vec_core.tasks.classification.train_classifier` on the train
split of the training set (selection on its validation split), accuracy on the test split of each
test set.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

from ..errors import BadInputError, ConfigError
from ..metrics.retrieval import hit_rate_at_k
from .classification import ClassifierConfig, evaluate_classifier, train_classifier

ARCH_SETS: dict[str, tuple[str, ...]] = {"BOTH": ("MLP", "TRI")}
"""Named sets of several architectures; any architecture name is also the set of itself."""
RETRIEVAL_PAIRS: tuple[tuple[str, str], ...] = (("BOTH", "BOTH"), ("MLP", "TRI"), ("TRI", "MLP"))
"""(query, gallery) sets of Tables 5 and 6."""


@dataclass
class ArchEmbeddings:
    """One split: ``emb[name] [N, D]`` per architecture (row ``i`` = object ``i`` in all) and ``labels [N]``."""

    emb: dict[str, torch.Tensor]
    labels: torch.Tensor

    def __post_init__(self) -> None:
        n = int(self.labels.shape[0])
        for name, e in self.emb.items():
            if e.dim() != 2 or e.shape[0] != n:
                raise BadInputError(None, f"cross-architecture tasks: embeddings of {name!r} are {tuple(e.shape)}, "
                                          f"expected [{n}, D] (one row per object)")

    def members(self, set_name: str) -> tuple[str, ...]:
        names = ARCH_SETS.get(set_name, (set_name,))
        missing = [n for n in names if n not in self.emb]
        if missing:
            raise ConfigError(f"cross-architecture tasks: set {set_name!r} needs embeddings of {missing[0]!r}; "
                              f"have {sorted(self.emb)}")
        return names

    def stack(self, set_name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(x [M, D], labels [M], objects [M], arch [M])`` of a set's items (``arch``: the
        member's index in ``self.emb``)."""
        names = self.members(set_name)
        order = list(self.emb)
        n = int(self.labels.shape[0])
        x = torch.cat([self.emb[m].float() for m in names])
        arch = torch.cat([torch.full((n,), order.index(m), dtype=torch.long) for m in names])
        return x, self.labels.long().repeat(len(names)), torch.arange(n).repeat(len(names)), arch


def neighbours(query: torch.Tensor, gallery: torch.Tensor, k: int, same: torch.Tensor | None = None,
               chunk: int = 1024) -> torch.Tensor:
    """Indices ``[N, k]`` of the ``k`` nearest gallery rows of each query (Euclidean, nearest
    first); ``same [N, M]`` (bool, or None) marks pairs that are the query itself and never count."""
    if not 1 <= k <= gallery.shape[0] - (1 if same is not None and bool(same.any()) else 0):
        raise BadInputError(None, f"retrieval: k={k} but the gallery holds {gallery.shape[0]} items")
    out = []
    for a in range(0, query.shape[0], chunk):
        d = torch.cdist(query[a:a + chunk], gallery)
        if same is not None:
            d = d.masked_fill(same[a:a + chunk], float("inf"))
        out.append(torch.topk(d, k, dim=1, largest=False, sorted=True).indices)
    return torch.cat(out)


def cross_arch_retrieval(split: ArchEmbeddings, query_set: str, gallery_set: str,
                         ks: Sequence[int] = (1, 5, 10)) -> dict[str, dict[int, float]]:
    """``{"instance": {k: recall}, "class": {k: recall}}`` of the ``query_set`` items against the
    ``gallery_set`` items (module docstring)."""
    qx, ql, qo, qa = split.stack(query_set)
    gx, gl, go, ga = split.stack(gallery_set)
    same = (qo.unsqueeze(1) == go.unsqueeze(0)) & (qa.unsqueeze(1) == ga.unsqueeze(0))
    idx = neighbours(qx, gx, max(ks), same)
    out: dict[str, dict[int, float]] = {"instance": {}, "class": {}}
    for k in ks:
        out["instance"][k] = hit_rate_at_k(qo, go[idx], k)
        out["class"][k] = hit_rate_at_k(ql, gl[idx], k)
    return out


def retrieval_table(split: ArchEmbeddings, pairs: Sequence[tuple[str, str]] = RETRIEVAL_PAIRS,
                    ks: Sequence[int] = (1, 5, 10)) -> list[dict[str, Any]]:
    """Rows ``{query, gallery, instance_recall@k..., class_recall@k...}`` (Tables 5 and 6)."""
    rows = []
    for q, g in pairs:
        r = cross_arch_retrieval(split, q, g, ks)
        rows.append({"query": q, "gallery": g, **{f"instance_recall@{k}": v for k, v in r["instance"].items()},
                     **{f"class_recall@{k}": v for k, v in r["class"].items()}})
    return rows


def classification_table(train: ArchEmbeddings, val: ArchEmbeddings, test: ArchEmbeddings,
                         train_sets: Sequence[str], test_sets: Sequence[str], cfg: ClassifierConfig,
                         num_classes: int, *, device: str | torch.device | None = "cpu",
                         progress: bool = False) -> list[dict[str, Any]]:
    """Rows ``{train, test, accuracy}``: one classifier per training set (its train split, selected
    on its validation split), tested on the test split of every test set (Tables 1-4)."""
    rows = []
    for tr in train_sets:
        xt, yt, _, _ = train.stack(tr)
        xv, yv, _, _ = val.stack(tr)
        model, _ = train_classifier(xt, yt, xv, yv, cfg, num_classes, device=device, progress=progress)
        for te in test_sets:
            x, y, _, _ = test.stack(te)
            rows.append({"train": tr, "test": te,
                         "accuracy": float(evaluate_classifier(model.cpu(), x, y, num_classes)["accuracy"])})
    return rows


__all__ = ["ARCH_SETS", "RETRIEVAL_PAIRS", "ArchEmbeddings", "neighbours", "cross_arch_retrieval", "retrieval_table",
           "classification_table"]

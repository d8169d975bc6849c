"""Tasks across NeRF architectures (tasks/cross_arch.py): known-answer retrieval recalls and
classification trained on one set of architectures, tested on another."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nf2vec_core.errors import ConfigError
from nf2vec_core.tasks.classification import ClassifierConfig
from nf2vec_core.tasks.cross_arch import ArchEmbeddings, cross_arch_retrieval, classification_table, retrieval_table


def split(n: int = 12, shift: float = 0.0, noise: float = 0.0, seed: int = 0) -> ArchEmbeddings:
    """Objects of 3 classes (class c: mean 10 e_c) as ``MLP`` and ``TRI`` embeddings; the TRI ones
    are the MLP ones moved by ``shift`` on a dimension of their own, plus noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 3
    mlp = torch.randn(n, 8, generator=g) * 0.5
    mlp[torch.arange(n), labels] += 10.0
    tri = mlp + noise * torch.randn(n, 8, generator=g)
    tri[:, 7] += shift
    return ArchEmbeddings({"MLP": mlp, "TRI": tri}, labels)


@pytest.mark.parametrize("query,gallery", [("BOTH", "BOTH"), ("MLP", "TRI"), ("TRI", "MLP")])
def test_identical_embeddings_across_architectures_retrieve_their_twin_first(query, gallery):
    r = cross_arch_retrieval(split(), query, gallery)
    assert r["instance"] == {1: 1.0, 5: 1.0, 10: 1.0}
    assert r["class"][1] == 1.0


def test_an_architecture_offset_breaks_instance_retrieval_within_both():
    """TRI moved far from MLP (the render-only latent space of Fig. 3): within BOTH the 11 nearest
    items of a query are the other objects of its own architecture (instance recall 0 up to k = 11,
    the class still found)."""
    s = split(shift=100.0)
    both = cross_arch_retrieval(s, "BOTH", "BOTH", ks=(1, 5, 11))
    assert both["instance"][1] == both["instance"][5] == both["instance"][11] == 0.0
    assert both["class"][1] == 1.0


def test_known_partial_instance_recall():
    """Half the TRI twins swapped with another object of the same class: instance recall@1 = 1/2,
    class recall@1 = 1."""
    s = split(n=12)
    tri = s.emb["TRI"].clone()
    perm = torch.arange(12)
    perm[[0, 3, 1, 4, 2, 5]] = torch.tensor([3, 0, 4, 1, 5, 2])      # same classes (i and i+3)
    s = ArchEmbeddings({"MLP": s.emb["MLP"], "TRI": tri[perm]}, s.labels)
    r = cross_arch_retrieval(s, "MLP", "TRI", ks=(1, 2))
    assert r["instance"][1] == 0.5 and r["class"][1] == 1.0
    rows = retrieval_table(s, ks=(1,))
    assert [(x["query"], x["gallery"]) for x in rows] == [("BOTH", "BOTH"), ("MLP", "TRI"), ("TRI", "MLP")]
    assert rows[1]["instance_recall@1"] == 0.5 and rows[1]["class_recall@1"] == 1.0


def test_classification_across_architecture_sets():
    """Separable classes, TRI = MLP plus small noise: every (train, test) pair is classified
    perfectly."""
    cfg = ClassifierConfig(hidden=(16,), epochs=30, batch_size=8, lr=1e-2, stitchup=False, dropout=0.0)
    tr, va, te = split(30, noise=0.1, seed=1), split(12, noise=0.1, seed=2), split(15, noise=0.1, seed=3)
    rows = classification_table(tr, va, te, ["MLP", "TRI", "BOTH"], ["MLP", "TRI", "BOTH"], cfg, 3)
    assert len(rows) == 9 and {(r["train"], r["test"]) for r in rows} == {
        (a, b) for a in ["MLP", "TRI", "BOTH"] for b in ["MLP", "TRI", "BOTH"]}
    assert all(r["accuracy"] == 1.0 for r in rows), rows
    with pytest.raises(ConfigError, match="TRI-8C"):
        classification_table(tr, va, te, ["MLP"], ["TRI-8C"], cfg, 3)

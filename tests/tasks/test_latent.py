"""t-SNE projection and k-means NMI of the latent space."""
from __future__ import annotations

import numpy as np
import pytest

from nf2vec_core.errors import BadInputError
from nf2vec_core.metrics.clustering import kmeans_nmi
from nf2vec_core.tasks.latent import clamp_perplexity, latent_report, tsne_2d


def clustered(n_per: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), n_per)
    return np.eye(3, 8)[y] * 50 + 0.1 * rng.normal(size=(y.size, 8)), y


def test_nmi_is_one_for_perfect_clusters_and_low_for_noise():
    x, y = clustered()
    assert kmeans_nmi(x, y, 3, seed=0) == pytest.approx(1.0)
    assert latent_report(x, y, seed=0)["nmi"] == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    assert kmeans_nmi(rng.normal(size=(90, 8)), np.repeat(np.arange(3), 30), 3) < 0.3


def test_tsne_small_set_and_perplexity_clamp():
    x, y = clustered(4)
    xy = tsne_2d(x, seed=0)
    assert xy.shape == (12, 2) and np.isfinite(xy).all()
    assert np.allclose(xy, tsne_2d(x, seed=0))
    assert clamp_perplexity(30, 12) == pytest.approx(11 / 3)
    assert clamp_perplexity(5, 1000) == 5
    with pytest.raises(BadInputError):
        tsne_2d(x[:3])

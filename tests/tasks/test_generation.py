"""The latent GAN and the scores of generated embeddings (tasks.generation)."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn

from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.tasks.generation import (LatentGan, LatentGanParams, gaussian_samples, generation_report, set_scores,
                                          subset_draw, train_latent_gan)

SMALL = LatentGanParams(noise_dim=4, pca_dim=0, generator=(32, 32), critic=(32, 32), steps=600, batch_size=32,
                        lr=1e-3)


def _two_clusters(n: int = 40, d: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    centers = torch.zeros(2, d)
    centers[0, 0], centers[1, 0] = 4.0, -4.0
    y = torch.arange(n) % 2
    return centers[y] + 0.5 * torch.randn(n, d, generator=g), y, centers


def test_set_scores_of_a_copy_and_of_a_collapsed_set():
    ref = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    train = ref + 1.0
    s = set_scores(ref.clone(), ref, train)
    assert s["mmd"] == 0 and s["coverage"] == 1.0
    assert s["1nna"] == 0.0            # each item's nearest other item is its twin in the other set
    assert s["novelty"] == pytest.approx(1.0)
    collapsed = torch.zeros(5, 2) + torch.tensor([0.1, 0.0])      # every sample next to one reference item
    c = set_scores(collapsed, ref, train)
    assert c["coverage"] == 0.25 and c["1nna"] == pytest.approx(7 / 9)    # 5 samples + 2 far references right
    assert c["mmd"] == pytest.approx((0.1 + 9.9 + (0.01 + 100) ** 0.5 + (9.9 ** 2 + 100) ** 0.5) / 4)
    with pytest.raises(BadInputError, match="empty set"):
        set_scores(torch.zeros(0, 2), ref, train)


def test_whitening_round_trips_the_training_span():
    x, y, _ = _two_clusters(n=12, d=20)
    gan = LatentGan(20, 11, 2, SMALL)
    gan.fit_whitening(x)
    z = gan.to_codes(x)
    assert torch.allclose(gan.from_codes(z), x, atol=1e-4)
    assert torch.allclose(z.var(0), torch.ones(11), atol=1e-4)        # unit variance on every axis


def test_gan_learns_the_classes_and_is_repeatable():
    x, y, centers = _two_clusters()
    gan, hist = train_latent_gan(x, y, 2, SMALL, progress=False)
    assert len(hist["wasserstein"]) == SMALL.steps
    want = torch.tensor([0, 1]).repeat_interleave(50)
    s = gan.sample(want, torch.Generator().manual_seed(1))
    nearest = torch.cdist(s, centers).argmin(1)
    assert float((nearest == want).float().mean()) > 0.95          # each sample lands in its own class's cluster
    assert float(s[:50, 0].mean()) == pytest.approx(4.0, abs=1.0)
    assert float(s[:50].std(0).mean()) > 0.2                         # not collapsed onto one point
    short = replace(SMALL, steps=20)
    a, b = (train_latent_gan(x, y, 2, short, progress=False)[0].sample(want, torch.Generator().manual_seed(1))
            for _ in range(2))
    assert torch.equal(a, b)
    untrained = LatentGan(8, 8, 2, SMALL)
    untrained.fit_whitening(x)
    raw = untrained.sample(want, torch.Generator().manual_seed(1))
    assert set_scores(s[:50], x[y == 0], x[y == 0])["mmd"] < set_scores(raw[:50], x[y == 0], x[y == 0])["mmd"]


def test_gan_refuses_bad_embeddings_and_params():
    x, y, _ = _two_clusters(n=6)
    with pytest.raises(BadInputError, match="NaN"):
        train_latent_gan(torch.where(x > 3, torch.nan, x), y, 2, SMALL, progress=False)
    with pytest.raises(BadInputError, match="labels"):
        train_latent_gan(x, y + 1, 2, SMALL, progress=False)
    with pytest.raises(ConfigError, match="generation.steps"):
        LatentGanParams(steps=0)
    with pytest.raises(ConfigError, match="pca_dim"):
        LatentGanParams(pca_dim=-1)


def test_gaussian_samples_follow_each_class():
    x, y, centers = _two_clusters(n=200)
    want = torch.tensor([1, 0]).repeat_interleave(500)
    s = gaussian_samples(x, y, want, seed=3)
    assert torch.allclose(s[:500].mean(0), x[y == 1].mean(0), atol=0.1)
    assert torch.allclose(s[500:].std(0), x[y == 0].std(0), atol=0.1)
    assert torch.equal(s, gaussian_samples(x, y, want, seed=3))
    with pytest.raises(BadInputError, match="class 2"):
        gaussian_samples(x, y, torch.tensor([2]))


def test_subset_draw_matches_the_classes_asked_for():
    x, y, _ = _two_clusters(n=10)
    want = torch.tensor([1, 1, 0, 1])
    d = subset_draw(x, y, want, seed=2)
    rows = [int(torch.nonzero((x == r).all(1))[0, 0]) for r in d]          # each drawn row is a real item
    assert [int(y[i]) for i in rows] == want.tolist() and len(set(rows)) == 4   # no repeat while items last
    many = subset_draw(x, y, torch.zeros(8, dtype=torch.long))                  # 8 of a class with 5: repeats
    assert all(bool((x[y == 0] == r).all(1).any()) for r in many)
    with pytest.raises(BadInputError, match="class 3"):
        subset_draw(x, y, torch.tensor([3]))


class _SignClassifier(nn.Module):
    """Class 0 for a positive first coordinate, class 1 otherwise."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([x[:, 0], -x[:, 0]], 1)


def test_generation_report_averages_matched_draws():
    x, y, _ = _two_clusters(n=40)
    rx, ry = _two_clusters(n=10, seed=1)[:2]
    real = [subset_draw(x, y, ry, seed=s) for s in range(3)]
    swapped = [subset_draw(x, y, 1 - ry, seed=s) for s in range(3)]     # real points, each of the other class
    shifted = [r + 3.0 for r in real]
    out = generation_report({"real": real, "swapped": swapped, "shifted": shifted}, (rx, ry), x, _SignClassifier())
    assert out["real"]["class_consistency"] == 1.0 and out["swapped"]["class_consistency"] == 0.0
    assert out["real"]["novelty"] == 0.0 and out["real"]["novelty_std"] == 0.0
    assert out["swapped"]["mmd"] == pytest.approx(out["real"]["mmd"], rel=0.5)   # pooled: only the classes are off
    assert out["shifted"]["mmd"] > 3 * out["real"]["mmd"] and out["shifted"]["1nna"] == 1.0
    assert out["real"]["1nna"] < 0.8 and out["shifted"]["novelty"] > 3
    assert out["real"]["mmd"] == pytest.approx(sum(set_scores(r, rx, x)["mmd"] for r in real) / 3)
    with pytest.raises(BadInputError, match="must each match"):
        generation_report({"short": [x[:3]]}, (rx, ry), x, _SignClassifier())

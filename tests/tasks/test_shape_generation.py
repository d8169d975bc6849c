"""Shape generation: per-class GANs, matched draws, decoded clouds, Chamfer set scores (tasks.shape_generation)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from nf2vec_core.config import load_section
from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.tasks.decoded import decode_clouds, subsample_clouds
from nf2vec_core.tasks.generation import LatentGanParams, subset_draw
from nf2vec_core.tasks.shape_generation import (PerClassGans, ShapeGenerationParams, chamfer_set_scores,
                                                embedding_draws, matched_indices, nearest_training,
                                                shape_generation_report, train_shape_generator)

SMALL = LatentGanParams(noise_dim=4, pca_dim=0, generator=(32, 32), critic=(32, 32), steps=200, batch_size=16,
                        lr=1e-3)


class BallDecoder(nn.Module):
    """A stand-in decoder: embedding ``e`` -> the ball of radius ``e[0]`` (occupancy logits, or UDF
    logits of its sphere)."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def forward(self, emb: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(emb.shape[0], -1, -1)
        d = x.norm(dim=-1) - emb[:, :1]
        if self.kind == "occupancy":
            return (-40.0 * d).unsqueeze(-1)
        u = (d.abs() / 0.1).clamp(1e-4, 1 - 1e-4)                  # UDF / clip in (0, 1) -> logit
        return torch.log(u / (1 - u)).unsqueeze(-1)


def _balls(radii: torch.Tensor, p: int = 256, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(len(radii), p, 3, generator=g), dim=-1) * radii[:, None, None]


@pytest.mark.parametrize("kind", ["occupancy", "udf"])
def test_decoded_clouds_lie_on_the_decoded_surface(kind):
    emb = torch.tensor([[0.4, 0.0], [0.7, 0.0], [0.5, 0.0]])
    clouds = decode_clouds(BallDecoder(kind), emb, kind, 0.1, n_points=300, resolution=32, batch=2)
    assert clouds.shape == (3, 300, 3)
    assert torch.allclose(clouds.norm(dim=-1).mean(1), emb[:, 0], atol=0.02)
    assert subsample_clouds(clouds, 100, seed=1).shape == (3, 100, 3)
    assert torch.equal(subsample_clouds(clouds, 100, seed=1), subsample_clouds(clouds, 100, seed=1))


def test_matched_indices_are_the_rows_subset_draw_takes():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(30, 5, generator=g), torch.arange(30) % 3
    want = torch.tensor([0, 0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2])         # class 2 past its 10 items
    rows = matched_indices(y, want, seed=4)
    assert torch.equal(y[rows], want)
    assert torch.equal(x[rows], subset_draw(x, y, want, seed=4))


def test_chamfer_set_scores_of_the_test_set_itself_and_of_a_wrong_size():
    ref_y = torch.tensor([0, 0, 0, 1, 1, 1])
    ref = _balls(torch.tensor([0.3, 0.5, 0.7, 0.35, 0.55, 0.75]))
    same = chamfer_set_scores(ref.clone(), ref_y, ref, ref_y)
    assert same["coverage"] == 1.0 and same["1nna"] == 0.0 and same["mmd"] < 1e-5
    far = chamfer_set_scores(ref + 5.0, ref_y, ref, ref_y)             # every shape moved away: told apart
    assert far["mmd"] > 10 and far["1nna"] == 1.0
    rep = shape_generation_report({"same": [ref.clone(), ref.clone()], "far": [ref + 5.0]}, ref, ref_y)
    assert rep["same"]["coverage"] == 1.0 and rep["same"]["coverage_std"] == 0.0
    assert rep["far"]["1nna"] == 1.0 and rep["far"]["mmd"] == pytest.approx(far["mmd"])
    with pytest.raises(BadInputError, match="no generated shape of class 1"):
        chamfer_set_scores(ref[:3], ref_y[:3], ref, ref_y)
    with pytest.raises(BadInputError, match="must each hold 6 clouds"):
        shape_generation_report({"short": [ref[:5]]}, ref, ref_y)


def _two_clusters(n: int = 32, d: int = 6) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    centers = torch.zeros(2, d)
    centers[0, 0], centers[1, 0] = 3.0, -3.0
    y = torch.arange(n) % 2
    return centers[y] + 0.3 * torch.randn(n, d, generator=g), y, centers


def test_per_class_gans_sample_their_own_class_and_the_draws_are_matched():
    x, y, centers = _two_clusters()
    p = ShapeGenerationParams(gan=SMALL, per_class=True)
    sampler, hist = train_shape_generator(x, y, 2, p, progress=False)
    assert isinstance(sampler, PerClassGans) and len(hist["wasserstein"]) == SMALL.steps
    want = torch.tensor([0, 1]).repeat_interleave(20)
    s = sampler.sample(want, torch.Generator().manual_seed(0))
    assert float((torch.cdist(s, centers).argmin(1) == want).float().mean()) > 0.9
    sets, idx = embedding_draws(sampler, x, y, want, draws=2, seed=5)
    assert set(sets) == {"latent_gan", "gaussian_per_class", "train_embeddings"}
    assert all(len(v) == 2 and v[0].shape == (40, 6) for v in sets.values())
    assert torch.equal(sets["train_embeddings"][1], x[idx[1]]) and torch.equal(y[idx[1]], want)
    assert torch.equal(nearest_training(x[[3, 7]], x), torch.tensor([3, 7]))
    with pytest.raises(BadInputError, match="no GAN of class 2"):
        sampler.sample(torch.tensor([2]))


def test_params_mirror_a_shape_generation_section():
    sec = {"shape_generation": {"gan": {"steps": 100, "generator": [64]}, "per_class": True, "decode_draws": 1,
                                "n_points": 1024, "metric_points": 256, "resolution": 48, "figure_per_class": 3}}
    p = load_section(sec, "shape_generation", ShapeGenerationParams)
    assert p.gan.steps == 100 and p.gan.generator == (64,) and p.gan.n_critic == 5 and p.per_class
    with pytest.raises(ConfigError, match="metric_points"):
        ShapeGenerationParams(metric_points=0)

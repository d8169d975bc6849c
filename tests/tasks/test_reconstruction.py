"""Reconstruction scores and the decoder's iso-level chosen on validation items."""
import pytest
import torch

from nf2vec_core.decoders.reconstruct import grid_points
from nf2vec_core.tasks.reconstruction import (ReconstructParams, calibrate_level, candidate_levels, decoder_level,
                                              natural_level, reconstruction_scores, voxel_iou)

R = 16


def _ball_voxels(radius: float, n: int = 2) -> torch.Tensor:
    centres = grid_points(R, centers=True).reshape(R, R, R, 3)
    return (centres.norm(dim=-1) < radius).expand(n, R, R, R).to(torch.uint8)


def _underconfident_ball(radius: float, peak: float):
    """An occupancy-probability field that is ``peak`` (< 0.5) inside a ball and ~0 outside: at
    the natural level 0.5 it decodes to nothing, at a lower level to the ball."""
    def fn(points: torch.Tensor) -> torch.Tensor:
        return peak * torch.sigmoid(40 * (radius - points.norm(dim=-1)))
    return fn


def test_candidate_and_natural_levels():
    occ = candidate_levels("occupancy", 0.1)
    assert len(occ) == 19 and occ[0] == pytest.approx(0.05) and occ[-1] == pytest.approx(0.95) and 0.5 in occ
    sdf = candidate_levels("sdf", 0.1)
    assert sdf[0] == pytest.approx(-0.05) and sdf[-1] == pytest.approx(0.05) and 0.0 in sdf
    assert natural_level("occupancy") == 0.5 and natural_level("sdf") == 0.0


def test_calibration_finds_the_level_of_an_underconfident_field():
    fn, gt = _underconfident_ball(0.5, 0.3), _ball_voxels(0.5)
    assert float(voxel_iou(fn, gt, "occupancy").max()) == 0.0        # nothing above 0.5
    centres = grid_points(R, centers=True).reshape(1, -1, 3).expand(2, -1, -1)
    level, curve = calibrate_level(fn(centres), gt.reshape(2, -1), "occupancy", 0.1)
    assert level < 0.3 and curve[level] > 0.9 and curve[0.5] == 0.0 and curve[level] == max(curve.values())
    scores, clouds = reconstruction_scores(fn, 2, "occupancy", torch.zeros(2, 64, 3),
                                           ReconstructParams(resolution=R, n_points=64), gt, level)
    assert scores["iou"].min() > 0.9 and scores["iou_natural"].max() == 0.0
    assert all(abs(float(torch.as_tensor(c).norm(dim=-1).mean()) - 0.5) < 0.1 for c in clouds)   # on the ball
    natural, _ = reconstruction_scores(fn, 2, "occupancy", torch.zeros(2, 64, 3),
                                       ReconstructParams(resolution=R, n_points=64), gt)
    assert "iou_natural" not in natural and natural["iou"].max() == 0.0


def test_decoder_level_rules():
    p = ReconstructParams(level=0.3)
    assert decoder_level(p, None, None, [0], None, "occupancy", 0.1) == (0.3, {})
    for kind, rows in (("udf", [0]), ("occupancy", [])):
        assert decoder_level(ReconstructParams(), None, None, rows, None, kind, 0.1) == (None, {})


class _Prepared:
    """The tensor decoder_level reads: the items' voxels (a ball)."""

    def __init__(self, n: int, radius: float):
        self.voxels = _ball_voxels(radius, n)

    def tensor(self, name: str) -> torch.Tensor:
        return {"voxels": self.voxels}[name]


class _UnderconfidentDecoder(torch.nn.Module):
    """Logits of a ball whose probability peaks at ~0.3 whatever the embedding (the decoder's
    ``(emb [B,D], points [B,M,3]) -> [B,M,1]`` contract)."""

    def forward(self, emb: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        p = 0.3 * torch.sigmoid(40 * (0.5 - points.norm(dim=-1, keepdim=True)))
        return torch.logit(p.clamp_min(1e-6))


def test_decoder_level_is_chosen_on_voxel_centres_of_the_validation_items():
    prepared = _Prepared(6, 0.5)
    level, curve = decoder_level(ReconstructParams(n_calibration=4), _UnderconfidentDecoder(), torch.zeros(6, 8),
                                 [1, 2, 3, 4, 5], prepared, "occupancy", 0.1)
    assert level < 0.3 and curve[level] > 0.9 and curve[0.5] == 0.0


def test_spread_takes_examples_across_the_list():
    from nf2vec_core.tasks.reconstruction import spread

    items = list(range(10, 170))                       # 160 test rows, class-major (16 per class)
    picked = spread(items, 16)
    assert len(picked) == 16 and picked[0] == 10 and picked[-1] == 169
    assert len({(r - 10) // 16 for r in picked}) == 10   # every class
    assert spread(items[:3], 16) == items[:3] and spread(items, 0) == []

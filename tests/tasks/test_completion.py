"""Shape completion: the retrieval baseline, the scores, the params (tasks.completion)."""
from __future__ import annotations

import pytest
import torch

from nf2vec_core.config import load_section
from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.metrics.geometry import chamfer_distance, f_score
from nf2vec_core.tasks.completion import CompletionParams, cloud_scores, completion_report, nearest_partial


def _balls(n: int, p: int = 400) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    dirs = torch.nn.functional.normalize(torch.randn(n, p, 3, generator=g), dim=-1)
    return dirs * (0.3 + 0.1 * torch.arange(n, dtype=torch.float32))[:, None, None]


def test_the_nearest_neighbour_baseline_on_identical_sets_is_perfect():
    g = torch.Generator().manual_seed(1)
    partial_emb = torch.randn(6, 32, generator=g)
    gt = _balls(6)
    rows = nearest_partial(partial_emb.clone(), partial_emb)
    assert rows.tolist() == list(range(6))
    r = completion_report(gt, {"nearest_train": gt[rows]}, 0.01)["nearest_train"]
    assert r["chamfer"] == pytest.approx(0.0, abs=1e-6) and r["fscore"] == 1.0
    shuffled = nearest_partial(partial_emb[[2, 0, 1]] + 1e-3, partial_emb)
    assert shuffled.tolist() == [2, 0, 1]
    with pytest.raises(BadInputError, match="nearest_partial"):
        nearest_partial(partial_emb, partial_emb[:, :4])


def test_a_half_shape_scores_worse_than_the_whole_and_the_report_has_every_set():
    gt = _balls(3)
    top = torch.stack([b[b[:, 2] > 0][:150] for b in gt])           # the upper halves only
    s = cloud_scores(top, gt, 0.05)
    assert torch.all(s["chamfer"] > 1e-3) and torch.all(s["fscore"] < 0.9)
    assert torch.allclose(s["chamfer"], chamfer_distance(top, gt)) and torch.equal(s["fscore"], f_score(top, gt, 0.05))
    rep = completion_report(gt, {"partial_input": top, "completion": gt + 0.001}, 0.05)
    assert set(rep) == {"partial_input", "completion"}
    assert rep["completion"]["fscore"] == 1.0 and rep["completion"]["chamfer"] < rep["partial_input"]["chamfer"]
    assert set(rep["completion"]) == {"chamfer", "fscore", "chamfer_std", "fscore_std"}
    with pytest.raises(BadInputError, match="one cloud per ground-truth shape"):
        completion_report(gt, {"completion": gt[:2]})


def test_params_mirror_a_completion_section():
    section = {"completion": {"partial": {"mode": "view", "thickness": 0.05, "seed": 3},
                              "transfer": {"hidden": [256], "epochs": 50},
                              "n_points": 1024, "resolution": 48, "fscore_threshold": 0.02, "n_figure": 2}}
    p = load_section(section, "completion", CompletionParams)
    assert p.partial.mode == "view" and p.partial.seed == 3 and p.transfer.hidden == (256,)
    assert p.transfer.lr == 1e-3 and p.n_points == 1024
    with pytest.raises(ConfigError, match="completion.partial.sides"):
        load_section({"completion": {"partial": {"sides": 2}}}, "completion", CompletionParams)
    with pytest.raises(ConfigError, match="fscore_threshold"):
        CompletionParams(fscore_threshold=0.0)

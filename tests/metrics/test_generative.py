"""Set measures of generated shapes from Chamfer distances (metrics.generative)."""
from __future__ import annotations

import pytest
import torch

from nf2vec_core.metrics.generative import pairwise_chamfer, set_measures
from nf2vec_core.metrics.geometry import chamfer_distance


def _clouds(n: int, p: int = 64, seed: int = 0) -> torch.Tensor:
    """``n <= 5`` random clouds in unit cubes at 0, 2, 5, 11, 23 along every axis (each one's nearest
    other cloud is the previous one, the first's is the second)."""
    g = torch.Generator().manual_seed(seed)
    at = torch.tensor([0.0, 2.0, 5.0, 11.0, 23.0][:n])
    return torch.rand(n, p, 3, generator=g) + at[:, None, None]


def test_pairwise_chamfer_is_the_chamfer_of_every_pair_in_any_block_size():
    a, b = _clouds(3), _clouds(4, p=50, seed=1)
    want = torch.tensor([[float(chamfer_distance(a[i:i + 1], b[j:j + 1])) for j in range(4)] for i in range(3)])
    assert torch.allclose(pairwise_chamfer(a, b), want, rtol=1e-5)
    assert torch.allclose(pairwise_chamfer(a, b, max_elements=1), want, rtol=1e-5)   # one pair a block
    assert torch.all(pairwise_chamfer(a, a).diagonal() < 1e-4)     # torch.cdist's matmul path: ~0, not 0
    assert pairwise_chamfer(a, b[:0]).shape == (3, 0)


def _measures(gen: torch.Tensor, ref: torch.Tensor) -> dict[str, float]:
    return set_measures(pairwise_chamfer(ref, gen), pairwise_chamfer(gen, gen), pairwise_chamfer(ref, ref))


def test_identical_sets_are_covered_matched_and_indistinguishable():
    ref = _clouds(5)
    s = _measures(ref.clone(), ref)
    assert s["mmd"] == pytest.approx(0.0, abs=1e-3)   # float32 Chamfer of a copy: ~0, not 0
    assert s["coverage"] == 1.0 and s["1nna"] == 0.0     # every item's nearest other is its twin


def test_a_far_shifted_copy_is_told_apart_and_a_collapsed_set_covers_one_item():
    ref = _clouds(5)
    far = _measures(ref + 1000.0, ref)
    assert far["1nna"] == 1.0 and far["mmd"] > 1e3
    collapsed = _measures(ref[:1].repeat(4, 1, 1) + 0.01, ref)   # four copies of (nearly) the first item
    assert collapsed["coverage"] == pytest.approx(1 / 5)
    # right: the 4 copies (each other's nearest) and references 2..4 (each other's); wrong: references
    # 0 and 1, whose nearest items are copies
    assert collapsed["1nna"] == pytest.approx(7 / 9)
    with pytest.raises(ValueError, match="set_measures"):
        set_measures(torch.zeros(2, 3), torch.zeros(2, 2), torch.zeros(2, 2))

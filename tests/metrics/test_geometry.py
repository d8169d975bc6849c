import pytest
import torch

from nf2vec_core.metrics.geometry import chamfer_distance, f_score, iou, nearest_sq_dist


def test_chamfer_identical_and_shifted():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, 100, 3, generator=g)
    assert torch.allclose(chamfer_distance(a, a), torch.zeros(2), atol=1e-6)
    pts = torch.zeros(1, 1, 3)
    # one point each, shifted by (0.1, 0.1, 0.1): squared distance 0.03 in each direction
    assert torch.allclose(chamfer_distance(pts, pts + 0.1), torch.tensor([2 * 0.03]), atol=1e-6)
    assert torch.allclose(chamfer_distance(pts, pts + 0.1, squared=False), torch.tensor([2 * 0.03 ** 0.5]), atol=1e-6)
    # a sparse grid (spacing 1) shifted by 0.1 along x: every nearest neighbour is the shifted twin
    grid = torch.stack(torch.meshgrid(*[torch.arange(4.0)] * 3, indexing="ij"), -1).reshape(1, -1, 3)
    shifted = grid + torch.tensor([0.1, 0.0, 0.0])
    assert torch.allclose(chamfer_distance(grid, shifted), torch.tensor([2 * 0.01]), atol=1e-5)
    assert chamfer_distance(a, a + torch.tensor([0.1, 0, 0])).max() <= 2 * 0.01 + 1e-6


def test_chamfer_chunking_matches_brute_force():
    g = torch.Generator().manual_seed(1)
    a, b = torch.rand(3, 257, 3, generator=g), torch.rand(3, 129, 3, generator=g)
    brute = ((a[:, :, None] - b[:, None]) ** 2).sum(-1).min(2).values
    assert torch.allclose(nearest_sq_dist(a, b, max_elements=3 * 129 * 10), brute, atol=1e-6)
    assert nearest_sq_dist(a.double(), b.double()).dtype == torch.float64


def test_f_score_values():
    g = torch.Generator().manual_seed(2)
    a = torch.rand(2, 50, 3, generator=g)
    assert torch.allclose(f_score(a, a), torch.ones(2))
    pts = torch.zeros(1, 1, 3)
    assert f_score(pts, pts + 1.0, 0.01).item() == 0
    # prediction = ground truth + 1 far outlier: precision 2/3, recall 1 -> F = 0.8
    gt = torch.tensor([[[0.0, 0, 0], [1.0, 0, 0]]])
    pred = torch.tensor([[[0.0, 0, 0], [1.0, 0, 0], [5.0, 0, 0]]])
    assert f_score(pred, gt, 0.01).item() == pytest.approx(0.8)


def test_iou_known_values():
    p = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    g = torch.tensor([[1, 0, 1, 0], [1, 1, 1, 1]], dtype=torch.bool)
    assert torch.allclose(iou(p, g), torch.tensor([1 / 3, 1.0]))
    assert iou(torch.zeros(1, 4, dtype=torch.bool), torch.zeros(1, 4, dtype=torch.bool)).item() == 1
    vox = torch.zeros(1, 4, 4, 4, dtype=torch.bool)
    vox2 = vox.clone()
    vox[0, :2] = True          # 32 voxels
    vox2[0, 1:3] = True        # 32 voxels, 16 shared
    assert iou(vox, vox2).item() == pytest.approx(16 / 48)
    with pytest.raises(ValueError):
        iou(p, g[:, :3])

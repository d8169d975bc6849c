import torch

from nf2vec_core.metrics.geometry import chamfer_distance, f_score, iou
from nf2vec_core.metrics.image import psnr


def test_chamfer_fscore_known_values():
    a = torch.rand(2, 100, 3)
    assert torch.allclose(chamfer_distance(a, a), torch.zeros(2), atol=1e-6)
    assert torch.allclose(f_score(a, a), torch.ones(2))
    b = a + torch.tensor([0.1, 0, 0])
    # every nearest neighbour is at most 0.1 away; for a tiny shift it is exactly the shifted twin
    pts = torch.zeros(1, 1, 3)
    assert torch.allclose(chamfer_distance(pts, pts + 0.1), torch.tensor([2 * 0.03]), atol=1e-6)
    assert chamfer_distance(a, b).max() <= 2 * 0.01 + 1e-6
    assert f_score(pts, pts + 1.0, 0.01).item() == 0


def test_iou_and_psnr():
    p = torch.tensor([[1, 1, 0, 0]], dtype=torch.bool)
    g = torch.tensor([[1, 0, 1, 0]], dtype=torch.bool)
    assert abs(iou(p, g).item() - 1 / 3) < 1e-6
    assert iou(torch.zeros(1, 4, dtype=torch.bool), torch.zeros(1, 4, dtype=torch.bool)).item() == 1
    x = torch.zeros(1, 10)
    assert torch.allclose(psnr(x + 0.1, x), torch.tensor([20.0]))

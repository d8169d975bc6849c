import math

import pytest
import torch

from nf2vec_core.metrics.image import psnr


def test_psnr_known_values():
    x = torch.zeros(2, 4, 4, 3)
    assert torch.allclose(psnr(x + 0.1, x), torch.tensor([20.0, 20.0]))
    y = x.clone()
    y[1] += 0.5
    out = psnr(y, x)
    assert out[0].item() == 100.0                               # identical: capped
    assert out[1].item() == pytest.approx(10 * math.log10(1 / 0.25), abs=1e-4)
    assert psnr(x + 25.5, x, max_val=255.0)[0].item() == pytest.approx(20.0, abs=1e-4)
    with pytest.raises(ValueError):
        psnr(x, x[:, :2])

import pytest
import torch

from nf2vec_core.fitting.engine import (FitConfig, FitTargets, autograd_loss_and_grad, fit_chunk,
                                        siren_loss_and_grad)
from nf2vec_core.nf.init import init_batch
from nf2vec_core.nf.layout import ArchSpec


@pytest.mark.parametrize("loss", ["mse", "bce", "l1"])
@pytest.mark.parametrize("shared", [False, True])
def test_fused_siren_gradients_match_autograd(loss, shared):
    spec = ArchSpec("siren", in_dim=3, out_dim=1, hidden=16, depth=3)
    theta = init_batch(spec, 3, mode="random", seed=0).double()
    x = torch.rand(50, 3, dtype=torch.float64) if shared else torch.rand(3, 50, 3, dtype=torch.float64)
    y = torch.rand(3, 50, 1, dtype=torch.float64)
    g1, g2 = torch.zeros_like(theta), torch.zeros_like(theta)
    l1 = siren_loss_and_grad(spec, theta, x * 2 - 1, y, loss, g1)
    l2 = autograd_loss_and_grad(spec, theta, x * 2 - 1, y, loss, g2)
    assert torch.allclose(l1, l2)
    assert torch.allclose(g1, g2, rtol=1e-6, atol=1e-9)


def test_batched_fit_equals_fitting_each_nf_alone():
    spec = ArchSpec("siren", in_dim=2, out_dim=1, hidden=16, depth=2)
    theta0 = init_batch(spec, 4, mode="shared", seed=0)
    targets = FitTargets(torch.rand(64, 2) * 2 - 1, torch.rand(4, 64, 1))
    cfg = FitConfig(steps=20, points_per_step=0, loss="mse")
    together, _ = fit_chunk(spec, theta0, targets, cfg)
    alone, _ = fit_chunk(spec, theta0[2:3], FitTargets(targets.coords, targets.values[2:3]), cfg)
    assert torch.allclose(together[2], alone[0], atol=1e-5)


@pytest.mark.parametrize("family", ["siren", "rffnet", "mfn"])
def test_fit_reduces_loss_on_an_image(family):
    spec = ArchSpec(family, in_dim=2, out_dim=1, hidden=32, depth=3, rff_std=3.0)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 16), torch.linspace(-1, 1, 16), indexing="ij")
    coords = torch.stack([xx, yy], -1).reshape(-1, 2)
    img = (0.5 + 0.5 * torch.sin(3 * xx) * torch.cos(2 * yy)).reshape(1, -1, 1).repeat(2, 1, 1)
    theta0 = init_batch(spec, 2, mode="shared", seed=0)
    cfg = FitConfig(steps=150, lr=1e-3 if family != "mfn" else 5e-3, points_per_step=0, loss="mse")
    start = ((img - torch.zeros_like(img)) ** 2).mean()
    theta, loss = fit_chunk(spec, theta0, FitTargets(coords, img), cfg)
    assert torch.isfinite(theta).all()
    assert loss.max() < 0.2 * start
    if family == "rffnet":  # the Fourier matrix is frozen
        t = spec.tensor("fourier.weight")
        assert torch.equal(theta[:, t.offset:t.stop], theta0[:, t.offset:t.stop])


def test_fit_is_deterministic_given_seed():
    spec = ArchSpec("siren", in_dim=3, hidden=16, depth=2)
    theta0 = init_batch(spec, 2, mode="shared", seed=0)
    tg = FitTargets(torch.rand(2, 500, 3), torch.rand(2, 500, 1).round())
    cfg = FitConfig(steps=10, points_per_step=64, loss="bce", seed=5)
    a, _ = fit_chunk(spec, theta0, tg, cfg)
    b, _ = fit_chunk(spec, theta0, tg, cfg)
    c, _ = fit_chunk(spec, theta0, tg, cfg, seed=6)
    assert torch.equal(a, b) and not torch.equal(a, c)

import math

import pytest
import torch

import nf2vec_core.fitting.fast_siren as fs
from nf2vec_core.fitting.engine import autograd_loss_and_grad
from nf2vec_core.nf.init import init_batch
from nf2vec_core.nf.layout import ArchSpec

N, M = 3, 64  # one shape for every float32 case: the compiled kernels are compiled once


@pytest.fixture
def restore_compile_state():
    state = dict(fs._compile_state)
    compiled = fs._compiled
    yield
    fs._compile_state.update(state)
    fs._compiled = compiled


def _problem(spec: ArchSpec, shared: bool, dtype: torch.dtype, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    theta = init_batch(spec, N, mode="random", seed=seed).to(dtype)
    shape = (M, spec.in_dim) if shared else (N, M, spec.in_dim)
    x = (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1).to(dtype)
    y = torch.rand(N, M, spec.out_dim, generator=gen, dtype=torch.float64).to(dtype)
    return theta, x, y


def _reference(spec, theta, x, y, loss):
    g = torch.zeros_like(theta, dtype=torch.float64)
    losses = autograd_loss_and_grad(spec, theta.double(), x.double(), y.double(), loss, g)
    return losses, g


def test_sincos_accuracy_wide_range():
    z = torch.linspace(-200, 200, 400_001)
    zd = z.double()
    for fn in (fs.sincos, torch.compile(fs.sincos)):
        s, c = fn(z)
        assert (s.double() - torch.sin(zd)).abs().max() < 3e-7
        assert (c.double() - torch.cos(zd)).abs().max() < 3e-7
    s, c = fs.sincos(torch.tensor([0.0, math.pi / 2, math.pi, -math.pi / 2, 3 * math.pi / 2]))
    assert torch.allclose(s, torch.tensor([0.0, 1.0, 0.0, -1.0, -1.0]), atol=1e-6)
    assert torch.allclose(c, torch.tensor([1.0, 0.0, -1.0, 0.0, 0.0]), atol=1e-6)


@pytest.mark.parametrize("depth,out_dim", [(2, 1), (3, 1), (2, 3)])
@pytest.mark.parametrize("loss", ["mse", "bce", "l1"])
@pytest.mark.parametrize("shared", [False, True])
def test_fast_grads_match_autograd_float64(depth, out_dim, loss, shared):
    """float64 runs the eager kernels (exact sin/cos): agreement to rounding."""
    spec = ArchSpec("siren", in_dim=3, out_dim=out_dim, hidden=16, depth=depth)
    theta, x, y = _problem(spec, shared, torch.float64)
    grad = torch.full_like(theta, float("nan"))  # every entry must be overwritten
    losses = fs.fast_siren_loss_and_grad(spec, theta, x, y, loss, grad)
    ref_l, ref_g = _reference(spec, theta, x, y, loss)
    assert torch.allclose(losses, ref_l, rtol=1e-10)
    assert torch.allclose(grad, ref_g, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("depth,out_dim", [(2, 1), (3, 1), (3, 2)])
@pytest.mark.parametrize("loss", ["mse", "bce", "l1"])
@pytest.mark.parametrize("shared", [False, True])
def test_fast_grads_match_autograd_float32(depth, out_dim, loss, shared):
    """float32 on CPU runs the compiled polynomial kernels: agreement to ~1e-5 relative."""
    spec = ArchSpec("siren", in_dim=3, out_dim=out_dim, hidden=32, depth=depth)
    theta, x, y = _problem(spec, shared, torch.float32, seed=depth)
    grad = torch.full_like(theta, float("nan"))
    losses = fs.fast_siren_loss_and_grad(spec, theta, x, y, loss, grad)
    ref_l, ref_g = _reference(spec, theta, x, y, loss)
    assert torch.allclose(losses.double(), ref_l, rtol=1e-5)
    if loss == "l1":  # sign(out - y) may flip at a rounding-level residual: compare per NF norms
        err = (grad.double() - ref_g).norm(dim=1) / ref_g.norm(dim=1)
        assert err.max() < 1e-4
    else:
        assert (grad.double() - ref_g).norm() / ref_g.norm() < 1e-5
        assert torch.allclose(grad.double(), ref_g, rtol=1e-3, atol=1e-5 * ref_g.abs().max().item())


def test_eager_fallback_when_compile_disabled(restore_compile_state):
    spec = ArchSpec("siren", in_dim=3, out_dim=1, hidden=32, depth=3)
    theta, x, y = _problem(spec, False, torch.float32)
    fs.set_compile_enabled(False)
    assert fs.kernels_for(theta) is fs.EAGER
    grad = torch.zeros_like(theta)
    losses = fs.fast_siren_loss_and_grad(spec, theta, x, y, "bce", grad)
    ref_l, ref_g = _reference(spec, theta, x, y, "bce")
    assert torch.allclose(losses.double(), ref_l, rtol=1e-5)
    assert (grad.double() - ref_g).norm() / ref_g.norm() < 1e-5


def test_failing_compile_falls_back_once_with_a_warning(restore_compile_state):
    def broken(*args):
        raise RuntimeError("no C++ compiler")

    fs.set_compile_enabled(True)
    fs._compile_state["failed"] = False
    fs._compiled = fs._Kernels(broken, broken, broken, compiled=True)
    spec = ArchSpec("siren", in_dim=3, out_dim=1, hidden=32, depth=2)
    theta, x, y = _problem(spec, True, torch.float32)
    grad = torch.zeros_like(theta)
    with pytest.warns(RuntimeWarning, match="torch.compile failed"):
        losses = fs.fast_siren_loss_and_grad(spec, theta, x, y, "mse", grad)
    assert not fs.compile_active() and fs.kernels_for(theta) is fs.EAGER
    ref_l, ref_g = _reference(spec, theta, x, y, "mse")
    assert torch.allclose(losses.double(), ref_l, rtol=1e-5)
    assert (grad.double() - ref_g).norm() / ref_g.norm() < 1e-5


def test_reused_buffers_do_not_leak_between_calls():
    spec = ArchSpec("siren", in_dim=3, out_dim=1, hidden=32, depth=2)
    t1, x1, y1 = _problem(spec, False, torch.float32, seed=1)
    t2, x2, y2 = _problem(spec, False, torch.float32, seed=2)
    g1, g2 = torch.zeros_like(t1), torch.zeros_like(t2)
    l1 = fs.fast_siren_loss_and_grad(spec, t1, x1, y1, "mse", g1)
    l1_copy, g1_copy = l1.clone(), g1.clone()
    fs.fast_siren_loss_and_grad(spec, t2, x2, y2, "mse", g2)
    assert torch.equal(l1, l1_copy) and torch.equal(g1, g1_copy)
    assert not torch.allclose(g1, g2)


def test_unknown_loss_is_an_error():
    spec = ArchSpec("siren", in_dim=3, out_dim=1, hidden=32, depth=2)
    theta, x, y = _problem(spec, False, torch.float32)
    with pytest.raises(ValueError, match="fit.loss"):
        fs.fast_siren_loss_and_grad(spec, theta, x, y, "huber", torch.zeros_like(theta))

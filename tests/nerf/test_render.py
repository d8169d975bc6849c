import math

import nerfacc
import pytest
import torch

from nf2vec_core.nerf.arch import NerfArch, init_nerf_batch
from nf2vec_core.nerf.occgrid import OccGrids
from nf2vec_core.nerf.rays import camera_rays, sphere_poses
from nf2vec_core.nerf.render import (composite_nerfacc, composite_packed_reference, composite_reference,
                                     render_images, render_rays, stratified_intervals, use_occgrid)
from nf2vec_core.nerf.render_config import RenderConfig


def _random_samples(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    s = shape[-1]
    rgbs = torch.rand(*shape, 3, generator=g, dtype=torch.float64)
    sigmas = torch.rand(*shape, generator=g, dtype=torch.float64) * 5 * (torch.rand(*shape, generator=g) > 0.3)
    t_starts = torch.sort(torch.rand(*shape, generator=g, dtype=torch.float64) * 4, dim=-1).values
    gaps = torch.cat([t_starts[..., 1:] - t_starts[..., :-1], torch.full((*shape[:-1], 1), 0.1, dtype=torch.float64)], -1)
    t_ends = t_starts + gaps * torch.rand(*shape, generator=g, dtype=torch.float64)
    assert t_starts.shape[-1] == s
    return rgbs, sigmas, t_starts, t_ends


@pytest.mark.parametrize("shape", [(40, 16), (3, 20, 8)])
def test_nerfacc_batched_compositing_equals_the_reference(shape):
    rgbs, sigmas, ts, te = _random_samples(shape)
    rgbs.requires_grad_(True)
    sigmas.requires_grad_(True)
    bg = torch.tensor([0.2, 0.5, 1.0], dtype=torch.float64)
    a, wa = composite_nerfacc(rgbs, sigmas, ts, te, bg)
    b, wb = composite_reference(rgbs, sigmas, ts, te, bg)
    assert a.color.shape == (*shape[:-1], 3) and a.opacity.shape == shape[:-1]
    for x, y in [(a.color, b.color), (a.opacity, b.opacity), (a.depth, b.depth), (wa, wb)]:
        assert torch.allclose(x, y, atol=1e-10)
    ga = torch.autograd.grad((a.color * torch.arange(3)).sum() + a.opacity.sum(), (rgbs, sigmas))
    gb = torch.autograd.grad((b.color * torch.arange(3)).sum() + b.opacity.sum(), (rgbs, sigmas))
    assert all(torch.allclose(x, y, atol=1e-10) for x, y in zip(ga, gb))


def test_reference_compositing_is_exact_on_a_homogeneous_slab():
    """Constant density sigma and colour c over [1, 3]: opacity 1 - exp(-2 sigma) for any sampling."""
    sigma, c = 0.7, torch.tensor([0.9, 0.1, 0.4], dtype=torch.float64)
    bg = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64)
    for s in (1, 3, 50):
        ts, te = stratified_intervals(torch.tensor([1.0], dtype=torch.float64), torch.tensor([3.0], dtype=torch.float64), s)
        out, w = composite_reference(c.expand(1, s, 3), torch.full((1, s), sigma, dtype=torch.float64), ts, te, bg)
        op = 1 - math.exp(-2 * sigma)
        assert float(out.opacity) == pytest.approx(op)
        assert torch.allclose(out.color[0], c * op + bg * (1 - op))
        # expected depth of an exponential distribution truncated to [1, 3] (exact as s -> inf)
        if s == 50:
            mean = 1 + 1 / sigma - 2 * math.exp(-2 * sigma) / op
            assert float(out.depth) == pytest.approx(mean, abs=2e-3)


def test_stratified_intervals():
    tn, tf = torch.tensor([1.0, 2.0, 5.0]), torch.tensor([3.0, 2.0, 9.0])
    ts, te = stratified_intervals(tn, tf, 4)
    assert torch.allclose(ts[:, 0], tn) and torch.allclose(te[:, -1], tf)
    assert torch.allclose(te - ts, ((tf - tn) / 4).unsqueeze(1).expand(3, 4))
    assert torch.allclose(ts[:, 1:], te[:, :-1])
    jit = torch.tensor([0.5, 0.0, 0.25])
    ts2, te2 = stratified_intervals(tn, tf, 4, jit)
    assert torch.allclose(ts2 - ts, (jit * (tf - tn) / 4).unsqueeze(1).expand(3, 4))
    assert torch.allclose(te2 - ts2, te - ts)


@pytest.fixture(scope="module")
def scene_rays():
    c2w = sphere_poses(2, 3.0)
    o, d = camera_rays(c2w, 12.0, 8, 8)
    return o.reshape(2, -1, 3), d.reshape(2, -1, 3)


@pytest.mark.parametrize("kind", ["mlp", "triplane"])
def test_render_rays_nerfacc_and_reference_agree_with_gradients(kind, scene_rays):
    arch = NerfArch(kind=kind, num_freqs=3, hidden=16, plane_res=6, plane_channels=4, w0=5.0, w0_first=5.0)
    theta = init_nerf_batch(arch, 2, seed=0, mode="random").requires_grad_(True)
    o, d = scene_rays
    jitter = torch.rand(2, o.shape[1], generator=torch.Generator().manual_seed(0))
    bg = torch.rand(2, o.shape[1], 3)
    outs, grads = [], []
    for comp in ("nerfacc", "reference"):
        cfg = RenderConfig(samples_per_ray=24, compositor=comp, estimator="batched")
        out = render_rays(arch, theta, o, d, cfg, background=bg, jitter=jitter)
        outs.append(out)
        grads.append(torch.autograd.grad(out.color.sum(), theta)[0])
    assert outs[0].color.shape == (2, 64, 3)
    assert torch.allclose(outs[0].color, outs[1].color, atol=1e-5)
    assert torch.allclose(outs[0].opacity, outs[1].opacity, atol=1e-5)
    assert torch.allclose(grads[0], grads[1], atol=1e-4, rtol=1e-4)
    assert float(outs[0].opacity.detach().max()) > 0.05            # the test is not vacuous: the NeRFs are visible


def test_rays_missing_the_box_show_the_background():
    arch = NerfArch(num_freqs=2, hidden=8, density_shift=5.0)           # dense everywhere inside the box
    theta = init_nerf_batch(arch, 1, seed=0)
    o = torch.tensor([[[0.0, 3.0, 5.0], [0.0, 0.0, 5.0]]])
    d = torch.tensor([[[0.0, 0.0, -1.0], [0.0, 0.0, -1.0]]])
    bg = torch.tensor([0.1, 0.2, 0.3])
    out = render_rays(arch, theta, o, d, RenderConfig(samples_per_ray=16), background=bg)
    assert float(out.opacity[0, 0]) == 0.0 and torch.allclose(out.color[0, 0], bg)
    assert float(out.opacity[0, 1]) > 0.99
    assert 3.9 < float(out.depth[0, 1]) < 4.5                           # the box's front face is at t = 4


def test_render_images_matches_render_rays(scene_rays):
    arch = NerfArch(num_freqs=2, hidden=8)
    theta = init_nerf_batch(arch, 2, seed=1, mode="random")
    c2w = sphere_poses(2, 3.0)
    cfg = RenderConfig(samples_per_ray=16)
    img = render_images(arch, theta, torch.stack([c2w, c2w.flip(0)]), 12.0, 8, 8, cfg,
                        background=torch.ones(3), chunk_rays=50)
    assert img.color.shape == (2, 2, 8, 8, 3) and img.opacity.shape == (2, 2, 8, 8)
    o, d = scene_rays
    ref = render_rays(arch, theta, o, d, cfg, background=torch.ones(3))
    # NeRF 0 sees camera 0 first, NeRF 1 sees camera 1 first: the rays render_rays got
    assert torch.allclose(img.color[0, 0].reshape(-1, 3), ref.color[0], atol=1e-6)
    assert torch.allclose(img.color[1, 0].reshape(-1, 3), ref.color[1], atol=1e-6)
    assert not torch.allclose(img.color[0, 1], img.color[0, 0], atol=1e-3)


def test_occgrid_runs_on_cpu_only_when_asked():
    assert not use_occgrid(RenderConfig(), torch.device("cpu"))
    assert use_occgrid(RenderConfig(estimator="occgrid"), torch.device("cpu"))
    assert not use_occgrid(RenderConfig(estimator="batched"), torch.device("cpu"))
    with pytest.raises(RuntimeError, match="OccGrids"):
        arch = NerfArch(num_freqs=2, hidden=8)
        render_rays(arch, init_nerf_batch(arch, 1, seed=0), torch.zeros(1, 2, 3), torch.ones(1, 2, 3) / 3 ** 0.5,
                    RenderConfig(estimator="occgrid"))


def test_packed_compositing_equals_the_dense_reference():
    rgbs, sigmas, ts, te = _random_samples((6, 10), seed=2)
    keep = torch.rand(6, 10, generator=torch.Generator().manual_seed(1)) > 0.4
    keep[3] = False                                                   # a ray without samples
    ri = torch.arange(6).unsqueeze(1).expand(6, 10)[keep]
    sig = sigmas.clone().requires_grad_(True)
    bg = torch.tensor([0.2, 0.5, 1.0], dtype=torch.float64)
    packed, w = composite_packed_reference(rgbs[keep], sig[keep], ts[keep], te[keep], ri, 6, bg)
    dense, wd = composite_reference(rgbs, torch.where(keep, sig, 0.0), ts, te, bg)
    for x, y in [(packed.color, dense.color), (packed.opacity, dense.opacity), (w, wd[keep])]:
        assert torch.allclose(x, y, atol=1e-12)
    assert torch.allclose(packed.color[3], bg) and float(packed.opacity[3].detach()) == 0.0
    g1 = torch.autograd.grad(packed.color.sum(), sig)[0]
    g2 = torch.autograd.grad(dense.color.sum(), sig)[0]
    assert torch.allclose(g1, g2, atol=1e-12) and float(g1[~keep].abs().sum()) == 0.0


def test_nerfacc_packed_rendering_equals_the_packed_reference(kernel_device):
    """nerfacc's packed ``rendering(ray_indices=...)`` (its scans on CUDA, or emulated on the CPU)
    against :func:`composite_packed_reference`: outputs, weights and gradients."""
    dev = kernel_device
    rgbs, sigmas, ts, te = [x.float().to(dev) for x in _random_samples((6, 10), seed=2)]
    keep = (torch.rand(6, 10, generator=torch.Generator().manual_seed(1)) > 0.4).to(dev)
    keep[3] = False                                                  # a ray without samples
    ri = torch.arange(6, device=dev).unsqueeze(1).expand(6, 10)[keep]
    rg, sg = rgbs[keep].requires_grad_(True), sigmas[keep].requires_grad_(True)
    ref, w = composite_packed_reference(rg, sg, ts[keep], te[keep], ri, 6)
    color, opacity, depth, extras = nerfacc.rendering(ts[keep], te[keep], ray_indices=ri, n_rays=6,
                                                      rgb_sigma_fn=lambda *_: (rg, sg))
    assert color.shape == (6, 3) and opacity.shape == (6, 1) and depth.shape == (6, 1)
    assert torch.allclose(color, ref.color, atol=1e-5) and torch.allclose(opacity[:, 0], ref.opacity, atol=1e-5)
    assert torch.allclose(extras["weights"], w, atol=1e-5)
    assert float(opacity[3].detach()) == 0.0
    for a, b in zip(torch.autograd.grad((color * torch.arange(1.0, 4.0, device=dev)).sum(), (rg, sg)),
                    torch.autograd.grad((ref.color * torch.arange(1.0, 4.0, device=dev)).sum(), (rg, sg))):
        assert torch.allclose(a, b, atol=1e-4)


def _occgrid_path_agrees_with_the_batched_path(dev: torch.device, estimator: str):
    arch = NerfArch(num_freqs=3, hidden=16, density_shift=-2.0)
    theta = init_nerf_batch(arch, 2, seed=0, mode="random").to(dev)
    c2w = sphere_poses(2, 3.0).to(dev)
    o, d = camera_rays(c2w, 12.0, 8, 8)
    o, d = o.reshape(2, -1, 3), d.reshape(2, -1, 3)
    cfg = RenderConfig(occ_resolution=32, occ_step_size=2 * math.sqrt(3) / 1024, occ_threshold=0.0, alpha_threshold=0.0,
                       early_stop_eps=0.0, samples_per_ray=1024, estimator=estimator)
    grids = OccGrids(arch, 2, cfg, dev)
    grids.refresh(theta)
    assert use_occgrid(cfg, dev)
    bg = torch.ones(3, device=dev)
    occ = render_rays(arch, theta, o, d, cfg, background=bg, grids=grids)
    ref = render_rays(arch, theta, o, d, RenderConfig(samples_per_ray=1024, estimator="batched"), background=bg)
    assert 0.05 < float(ref.opacity.mean()) < 0.95                                # neither empty nor opaque
    assert torch.allclose(occ.color, ref.color, atol=2e-3)
    assert torch.allclose(occ.opacity, ref.opacity, atol=2e-3)
    assert torch.allclose(occ.depth, ref.depth, atol=1e-2)
    theta.requires_grad_(True)
    g = torch.autograd.grad(render_rays(arch, theta, o, d, cfg, background=bg, grids=grids).color.sum(), theta)[0]
    g_ref = torch.autograd.grad(render_rays(arch, theta, o, d, RenderConfig(samples_per_ray=1024, estimator="batched"),
                                            background=bg).color.sum(), theta)[0]
    assert torch.isfinite(g).all() and float(g.abs().sum()) > 0
    assert float(torch.nn.functional.cosine_similarity(g, g_ref, dim=-1).min()) > 0.99


def test_occgrid_path_agrees_with_the_batched_path():
    """The occupancy-grid path with the pure-PyTorch references (``occgrid`` on the CPU)."""
    _occgrid_path_agrees_with_the_batched_path(torch.device("cpu"), "occgrid")


def test_occgrid_path_through_nerfacc_agrees_with_the_batched_path(kernel_device):
    """The same through nerfacc (``auto``: its sampling and packed rendering; kernels on CUDA or
    emulated on the CPU)."""
    _occgrid_path_agrees_with_the_batched_path(kernel_device, "auto" if kernel_device.type == "cuda" else "occgrid")

import pytest
import torch

from nf2vec_core.data.procedural import make_shape
from nf2vec_core.errors import ConfigError
from nf2vec_core.metrics.image import psnr
from nf2vec_core.nerf.arch import NerfArch, init_nerf_batch
from nf2vec_core.nerf.fit import NerfFitConfig, SceneBatch, evaluate_psnr, fit_nerf_chunk, fit_nerfs, nerf_loss
from nf2vec_core.nerf.rays import camera_rays
from nf2vec_core.nerf.render_config import RenderConfig
from nf2vec_core.nerf.synthetic_views import ViewRenderConfig, render_shape

VIEWS = ViewRenderConfig(n_views=16, n_val_views=4, height=24, width=24, radius=3.0, fov_deg=45.0,
                         mesh_resolution=48)
ARCH = NerfArch(num_freqs=6, hidden=32)


@pytest.fixture(scope="module")
def scenes():
    shapes = [make_shape("chair", 1), make_shape("mug", 2)]
    train = [render_shape(s, VIEWS, "train").viewset("white") for s in shapes]
    val = [render_shape(s, VIEWS, "val").viewset("white") for s in shapes]
    return train, val


def test_batch_of_two_nerfs_fits_held_out_views(scenes):
    train, val = scenes
    cfg = NerfFitConfig(steps=300, rays_per_step=256, chunk_size=2, lr=5e-3,
                        render=RenderConfig(samples_per_ray=32))
    before = evaluate_psnr(ARCH, init_nerf_batch(ARCH, 2, seed=cfg.init_seed), val, cfg.render)
    res = fit_nerfs(ARCH, train, cfg, val=val, progress=False)
    assert res.theta.shape == (2, ARCH.num_params)
    assert torch.isfinite(res.theta).all()
    gain = res.psnr - before
    assert float(gain.min()) > 5.0, (before.tolist(), res.psnr.tolist())
    assert float(res.psnr.min()) > 16.0
    assert res.nerfs_per_second > 0 and res.fit_seconds <= res.seconds


def test_batched_fit_equals_fitting_each_nerf_alone(scenes):
    train, _ = scenes
    cfg = NerfFitConfig(steps=6, rays_per_step=64, render=RenderConfig(samples_per_ray=8))
    together = fit_nerfs(ARCH, train, cfg, progress=False)
    alone = fit_nerfs(ARCH, train[1:], cfg, start_index=1, progress=False)
    assert torch.allclose(together.theta[1], alone.theta[0], atol=1e-5)
    assert not torch.allclose(together.theta[0], together.theta[1])
    seq = fit_nerfs(ARCH, train, NerfFitConfig(steps=6, rays_per_step=64, chunk_size=1,
                                               render=RenderConfig(samples_per_ray=8)), progress=False)
    assert torch.allclose(seq.theta, together.theta, atol=1e-5)


def test_scene_batch_samples_pixels_with_their_rays_and_backgrounds(scenes):
    train, _ = scenes
    batch = SceneBatch.stack(train)
    gens = [torch.Generator().manual_seed(i) for i in range(2)]
    o, d, target, alpha, bg, jitter = batch.sample(gens, 500, "random")
    assert o.shape == d.shape == target.shape == bg.shape == (2, 500, 3) and alpha.shape == jitter.shape == (2, 500)
    assert float(alpha.max()) == 1.0 and float(alpha.min()) == 0.0
    # find each sampled ray among all the scene's camera rays and check the target pixel
    for n in range(2):
        ro, rd = camera_rays(train[n].c2w, train[n].focal, 24, 24)
        flat_d = rd.reshape(-1, 3)
        idx = torch.cdist(d[n], flat_d).argmin(1)
        assert torch.allclose(flat_d[idx], d[n], atol=1e-5) and torch.allclose(ro.reshape(-1, 3)[idx], o[n])
        pre, a = train[n].premultiplied.reshape(-1, 3)[idx], train[n].alpha.reshape(-1)[idx]
        assert torch.allclose(alpha[n], a)
        assert torch.allclose(target[n], pre + bg[n] * (1 - a.unsqueeze(-1)), atol=1e-6)
    _, _, target_w, alpha_w, bg_w, _ = batch.sample(gens, 100, "white")
    assert torch.equal(bg_w, torch.ones_like(bg_w))
    assert torch.all(target_w[alpha_w == 0] == 1.0)


def test_scene_batch_puts_a_share_of_the_rays_on_the_foreground(scenes):
    train, _ = scenes
    batch = SceneBatch.stack(train)
    gens = [torch.Generator().manual_seed(i) for i in range(2)]
    o, d, target, alpha, bg, jitter = batch.sample(gens, 400, "random", 0.25)
    assert o.shape == target.shape == bg.shape == (2, 400, 3) and alpha.shape == jitter.shape == (2, 400)
    assert (alpha[:, :100] > 0.5).all()                                   # the first quarter on the foreground
    share = float((batch.alpha > 0.5).float().mean())
    assert abs(float((alpha[:, 100:] > 0.5).float().mean()) - share) < 0.1   # the rest uniform
    assert torch.allclose(target, batch.rays_at(torch.stack([
        torch.cdist(d[n], camera_rays(train[n].c2w, train[n].focal, 24, 24)[1].reshape(-1, 3)).argmin(1)
        for n in range(2)]), bg)[2], atol=1e-6)
    again = batch.sample([torch.Generator().manual_seed(i) for i in range(2)], 400, "random", 0.25)
    assert all(torch.equal(a, b) for a, b in zip(again, (o, d, target, alpha, bg, jitter)))
    with pytest.raises(ValueError, match="fg_fraction"):
        NerfFitConfig(fg_fraction=1.5)


def test_foreground_background_weighted_loss():
    pred = torch.zeros(1, 4, 3)
    target = torch.tensor([[[1.0, 1.0, 1.0], [0.5, 0.5, 0.5], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]])
    alpha = torch.tensor([[1.0, 0.0, 0.5, 1.0]])
    l1 = nerf_loss(pred, target, alpha, NerfFitConfig())
    assert float(l1) == pytest.approx((0.8 * 1.0 + 0.2 * 0.5 + 0.5 * 1.0 + 0.0) / 4)
    mse = nerf_loss(pred, target, alpha, NerfFitConfig(loss="mse", fg_weight=1.0, bg_weight=0.0))
    assert float(mse) == pytest.approx((1.0 + 0.0 + 0.5) / 4)


def test_triplane_nerf_fits(scenes):
    train, _ = scenes
    arch = NerfArch(kind="triplane", plane_res=16, plane_channels=8, num_freqs=2, hidden=32, depth=2,
                    w0=5.0, w0_first=5.0)
    cfg = NerfFitConfig(steps=120, rays_per_step=256, lr=5e-3, train_background="white",
                        render=RenderConfig(samples_per_ray=24))
    losses = []
    theta, _, grids = fit_nerf_chunk(arch, init_nerf_batch(arch, 1, seed=0), SceneBatch.stack(train[:1]), cfg,
                                     on_step=lambda i, loss, th: losses.append(float(loss[0])))
    assert grids is None and len(losses) == 120
    assert sum(losses[-10:]) < 0.6 * sum(losses[:10])


HASH = NerfArch(kind="hash", num_freqs=0, hidden=32, depth=2, hash_levels=4, hash_log2_size=10, hash_base_res=4,
                hash_growth=1.5)


def test_hash_grid_nerf_fits(scenes):
    """The hash-grid NeRF goes through the same fitting path and its loss falls; held-out PSNR rises."""
    train, val = scenes
    cfg = NerfFitConfig(steps=100, rays_per_step=128, lr=2e-2, fg_fraction=0.25,
                        render=RenderConfig(samples_per_ray=16))
    theta0 = init_nerf_batch(HASH, 1, seed=0)
    losses = []
    theta, _, grids = fit_nerf_chunk(HASH, theta0, SceneBatch.stack(train[:1]), cfg,
                                     on_step=lambda i, loss, th: losses.append(float(loss[0])))
    assert grids is None and len(losses) == 100
    assert sum(losses[-10:]) < 0.6 * sum(losses[:10]), (losses[:10], losses[-10:])
    before, after = (float(evaluate_psnr(HASH, t, val[:1], cfg.render)) for t in (theta0, theta))
    blank = float(psnr(torch.ones_like(val[0].rgb), val[0].rgb).mean())          # an empty NeRF on white
    assert after > before + 2.5 and after > blank + 4.0, (before, after, blank)


def test_batched_hash_fit_equals_fitting_each_nerf_alone(scenes):
    train, _ = scenes
    cfg = NerfFitConfig(steps=6, rays_per_step=64, lr=1e-2, render=RenderConfig(samples_per_ray=8))
    together = fit_nerfs(HASH, train, cfg, progress=False)
    alone = fit_nerfs(HASH, train[1:], cfg, start_index=1, progress=False)
    assert torch.allclose(together.theta[1], alone.theta[0], atol=1e-6)
    assert not torch.equal(together.theta[0], together.theta[1])
    tables = HASH.tensors()[0].stop
    assert not torch.equal(together.theta[0, :tables], init_nerf_batch(HASH, 1, seed=0)[0, :tables])   # tables moved


def test_fit_config_errors(scenes):
    train, val = scenes
    with pytest.raises(ValueError):
        NerfFitConfig(train_background="grey")
    with pytest.raises(ValueError):
        NerfFitConfig(fg_weight=0.0, bg_weight=0.0)
    small = ViewRenderConfig(n_views=2, height=8, width=8)
    other = render_shape(make_shape("mug", 3), small).viewset()
    with pytest.raises(ConfigError, match="one size"):
        SceneBatch.stack([train[0], other])
    with pytest.raises(ConfigError, match="validation"):
        fit_nerfs(ARCH, train, NerfFitConfig(steps=1), val=val[:1], progress=False)


@pytest.mark.parametrize("device", [
    "cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(),
                                                         reason="nerfacc's OccGridEstimator ray marching needs CUDA"))])
def test_occupancy_grid_fit_matches_the_batched_fit(scenes, device):
    """The occgrid path (nerfacc's kernel on CUDA, the pure-PyTorch march on CPU): grids updated from
    the NeRFs' density during fitting, samples only in occupied cells; held-out PSNR on a par with
    the batched path."""
    train, val = scenes
    dev = torch.device(device)
    common = dict(steps=300, rays_per_step=256, chunk_size=2, lr=5e-3)
    batched = fit_nerfs(ARCH, train, NerfFitConfig(**common, render=RenderConfig(samples_per_ray=32)), val=val,
                        progress=False)
    occ_render = RenderConfig(estimator="occgrid", occ_resolution=32, occ_warmup_steps=64, occ_update_every=8,
                              occ_step_size=2 * 3 ** 0.5 / 128)
    theta0 = init_nerf_batch(ARCH, 2, seed=0).to(dev)
    theta, _, grids = fit_nerf_chunk(ARCH, theta0, SceneBatch.stack(train, dev),
                                     NerfFitConfig(**common, render=occ_render))
    assert grids is not None and theta.device.type == device
    psnr = evaluate_psnr(ARCH, theta, val, occ_render, grids=grids)
    assert float(psnr.min()) > 16.0
    assert float((psnr - batched.psnr).abs().max()) < 1.5, (psnr.tolist(), batched.psnr.tolist())
    free = 1.0 - float(grids.binaries.float().mean())
    assert 0.1 < free < 1.0                      # the grids learnt where the objects are not


def test_fitting_through_nerfacc_takes_the_reference_paths_steps(scenes, kernel_device, monkeypatch):
    """A few fitting steps through nerfacc's occupancy-grid path (its kernels on CUDA, or emulated on
    the CPU) move the NeRFs as the pure-PyTorch reference path does on the same device: same grid
    updates, same samples (up to a float32 cell-border flip), same loss and Adam steps."""
    from nf2vec_core.nerf import occgrid

    train, _ = scenes
    dev = kernel_device
    render = RenderConfig(estimator="occgrid", occ_resolution=16, occ_warmup_steps=2, occ_update_every=1,
                          occ_step_size=2 * 3 ** 0.5 / 96, early_stop_eps=1e-4)
    cfg = NerfFitConfig(steps=4, rays_per_step=48, chunk_size=2, lr=5e-3, render=render)
    theta0 = init_nerf_batch(ARCH, 2, seed=0).to(dev)
    batch = SceneBatch.stack(train, dev)
    assert occgrid.nerfacc_kernels(dev)
    kernel, k_loss, k_grids = fit_nerf_chunk(ARCH, theta0, batch, cfg)
    monkeypatch.setattr(occgrid, "nerfacc_kernels", lambda device: False)
    ref, r_loss, r_grids = fit_nerf_chunk(ARCH, theta0, batch, cfg)
    assert not torch.equal(kernel, theta0)
    assert torch.allclose(k_loss, r_loss, rtol=1e-3, atol=1e-5), (k_loss.tolist(), r_loss.tolist())
    # Adam (eps 1e-15) turns float32 rounding of near-zero gradients into lr-sized steps: compare
    # the parameter moves as directions, and elementwise within a few lr
    move_k, move_r = kernel - theta0, ref - theta0
    assert float(torch.nn.functional.cosine_similarity(move_k, move_r, dim=-1).min()) > 0.999
    assert torch.allclose(kernel, ref, atol=2e-3), float((kernel - ref).abs().max())
    assert torch.equal(k_grids.binaries, r_grids.binaries)

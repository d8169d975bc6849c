"""nf2vec on NeRFs: encoder rows, the radiance decoder, render-loss training, checkpoints."""
from __future__ import annotations

import pytest
import torch

from nf2vec_core.data.procedural import make_shape
from nf2vec_core.decoders.implicit import ImplicitDecoderConfig
from nf2vec_core.errors import ConfigError
from nf2vec_core.nerf.arch import NerfArch, init_nerf_batch, unflatten
from nf2vec_core.nerf.encoder import (NerfEncoderParams, build_nerf_models, embed_nerfs, save_checkpoint,
                                      load_checkpoint, nerf_rows, render_embeddings, train_nerf_nf2vec)
from nf2vec_core.nerf.fit import SceneBatch
from nf2vec_core.nerf.render import render_field, render_rays
from nf2vec_core.nerf.render_config import RenderConfig
from nf2vec_core.nerf.synthetic_views import ViewRenderConfig, render_shape

ARCH = NerfArch(num_freqs=4, hidden=16, depth=3)
ENC = NerfEncoderParams(hidden=(32, 32), embed_dim=16, epochs=4, batch_size=2, rays_per_item=64, samples_per_ray=12)
DEC = ImplicitDecoderConfig(hidden=32, layers=2, pe_freqs=3)


def test_rows_hold_every_layer_weights_and_biases():
    theta = init_nerf_batch(ARCH, 3, seed=0, mode="random")
    rows = nerf_rows(ARCH, theta)
    assert rows.shape == (3, 16 * 3 + 4, 25)                  # 3 hidden layers of 16 + 4 outputs; 24 + 1 wide
    p = unflatten(ARCH, theta)
    assert torch.equal(rows[:, :16, :24], p["l0.weight"]) and torch.equal(rows[:, :16, 24], p["l0.bias"])
    assert torch.equal(rows[:, 16:32, :16], p["l1.weight"]) and torch.equal(rows[:, 16:32, 16], p["l1.bias"])
    assert (rows[:, 16:, 17:] == 0).all()                      # narrower rows are zero-padded
    assert torch.equal(rows[:, -4:, 16], p["out.bias"])
    with pytest.raises(ConfigError, match="mlp"):
        nerf_rows(NerfArch(kind="triplane", num_freqs=0, plane_res=4, plane_channels=2), torch.zeros(1, 1))


def test_render_field_matches_render_rays():
    theta = init_nerf_batch(ARCH, 2, seed=1, mode="random")
    o = torch.tensor([0.0, 0.0, 3.0]).expand(2, 5, 3)
    d = torch.nn.functional.normalize(torch.randn(2, 5, 3, generator=torch.Generator().manual_seed(0)) * 0.1
                                      + torch.tensor([0.0, 0.0, -1.0]), dim=-1)
    cfg = RenderConfig(samples_per_ray=16, estimator="batched")
    from nf2vec_core.nerf.arch import radiance
    a = render_rays(ARCH, theta, o, d, cfg, background=torch.ones(3))
    b = render_field(lambda x: radiance(ARCH, theta, x), o, d, cfg, ARCH.aabb, background=torch.ones(3))
    assert torch.allclose(a.color, b.color)


@pytest.fixture(scope="module")
def scenes():
    views = ViewRenderConfig(n_views=6, n_val_views=1, height=16, width=16, mesh_resolution=24, supersample=1)
    return SceneBatch.stack([render_shape(make_shape(c, i), views, "train").viewset("white")
                             for i, c in enumerate(["mug", "table", "mug", "table"])])


def test_training_lowers_the_render_loss_and_checkpoint_roundtrip(scenes, tmp_path):
    theta = init_nerf_batch(ARCH, 4, seed=0, mode="random")
    res = train_nerf_nf2vec(ARCH, (theta, scenes), (theta[:2], SceneBatch(*(t[:2] for t in (
        scenes.premult, scenes.alpha, scenes.c2w, scenes.focal)))), ENC, DEC, progress=False)
    h = res.history
    assert len(h["train_loss"]) == 4 and h["train_loss"][-1] < h["train_loss"][0]
    assert res.best_val_loss == min(h["val_loss"])
    emb = embed_nerfs(res.encoder, ARCH, theta)
    assert emb.shape == (4, 16) and torch.isfinite(emb).all()
    save_checkpoint(tmp_path / "nf2vec.safetensors", res, ARCH, ENC, DEC)
    arch, enc, dec, p = load_checkpoint(tmp_path / "nf2vec.safetensors")
    assert arch == ARCH and p == ENC
    assert torch.allclose(embed_nerfs(enc, ARCH, theta), emb)
    img = render_embeddings(dec, emb[:2], scenes.c2w[:2, :1], float(scenes.focal[0]), 16, 16,
                            RenderConfig(samples_per_ray=8, estimator="batched"))
    assert img.shape == (2, 1, 16, 16, 3)


def test_training_killed_mid_way_resumes_to_the_uninterrupted_result(scenes, tmp_path, monkeypatch):
    import nf2vec_core.nerf.encoder as mod
    theta = init_nerf_batch(ARCH, 4, seed=0, mode="random")
    val = (theta[:2], SceneBatch(*(t[:2] for t in (scenes.premult, scenes.alpha, scenes.c2w, scenes.focal))))
    full = train_nerf_nf2vec(ARCH, (theta, scenes), val, ENC, DEC, progress=False)
    state = tmp_path / "state.safetensors"
    real, calls = mod.evaluate_render_loss, []

    def killed_in_epoch_2(*a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(mod, "evaluate_render_loss", killed_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train_nerf_nf2vec(ARCH, (theta, scenes), val, ENC, DEC, progress=False, state_path=state)
    monkeypatch.setattr(mod, "evaluate_render_loss", real)
    from nf2vec_core.store.treefile import load_tree
    assert load_tree(state)["epoch"] == 2
    resumed = train_nerf_nf2vec(ARCH, (theta, scenes), val, ENC, DEC, progress=False, state_path=state)
    assert resumed.history == full.history and resumed.best_epoch == full.best_epoch
    for a, b in zip(resumed.encoder.state_dict().values(), full.encoder.state_dict().values()):
        assert torch.equal(a, b)
    other = NerfEncoderParams(**{**ENC.__dict__, "lr": ENC.lr * 2})
    with pytest.raises(ConfigError, match="cannot resume"):
        train_nerf_nf2vec(ARCH, (theta, scenes), val, other, DEC, progress=False, state_path=state)


def test_models_sizes():
    enc, dec = build_nerf_models(ARCH, ENC, DEC)
    assert enc.num_rows == 52 and enc.embed_dim == 16 and dec.net.out_dim == 4


def test_sample_rays_favours_the_foreground_and_matches_the_uniform_sampler(scenes):
    from nf2vec_core.nerf.encoder import sample_rays

    gens = [torch.Generator().manual_seed(i) for i in range(scenes.n)]
    o, d, target, alpha, bg, jitter = sample_rays(scenes, gens, 200, 0.5)
    assert o.shape == d.shape == target.shape == (scenes.n, 200, 3) and jitter.shape == (scenes.n, 200)
    assert (alpha[:, :100] > 0.5).all()                                   # the first half on foreground pixels
    assert float((alpha[:, 100:] > 0.5).float().mean()) < 0.5
    assert torch.allclose(d.norm(dim=-1), torch.ones(scenes.n, 200), atol=1e-5) and torch.equal(bg, torch.ones_like(bg))
    # with no foreground share it is exactly SceneBatch.sample (white background)
    g1 = [torch.Generator().manual_seed(i) for i in range(scenes.n)]
    g2 = [torch.Generator().manual_seed(i) for i in range(scenes.n)]
    for a, b in zip(sample_rays(scenes, g1, 50, 0.0), scenes.sample(g2, 50, "white")):
        assert torch.equal(a, b)


def test_distill_loss_is_zero_on_the_nerfs_own_field_and_only_trains_the_decoder():
    from nf2vec_core.nerf.arch import radiance
    from nf2vec_core.nerf.encoder import distill_loss
    theta = init_nerf_batch(ARCH, 2, seed=3, mode="random")
    x = torch.rand(2, 40, 3, generator=torch.Generator().manual_seed(0)) * 2 - 1
    rgb, sigma = radiance(ARCH, theta, x)
    assert float(distill_loss(ARCH, theta, x, rgb, sigma, 0.1)) < 1e-7
    other = init_nerf_batch(ARCH, 2, seed=4, mode="random").requires_grad_(True)
    rgb_o, sigma_o = radiance(ARCH, other, x)
    th = theta.clone().requires_grad_(True)
    loss = distill_loss(ARCH, th, x, rgb_o, sigma_o, 0.1)
    assert float(loss.detach()) > 1e-3
    loss.backward()
    assert th.grad is None and float(other.grad.abs().sum()) > 0    # the target NeRF is fixed


def test_render_loss_adds_the_weighted_distillation_term(scenes):
    import dataclasses
    from nf2vec_core.nerf.encoder import _gens, render_loss
    theta = init_nerf_batch(ARCH, 4, seed=0, mode="random")
    enc, dec = build_nerf_models(ARCH, ENC, DEC)
    rows = nerf_rows(ARCH, theta)
    plain = render_loss(enc, dec, rows, scenes, _gens(0, 0, 4), ENC, theta=theta)
    with_d = render_loss(enc, dec, rows, scenes, _gens(0, 0, 4), dataclasses.replace(ENC, distill=2.0), theta=theta)
    half = render_loss(enc, dec, rows, scenes, _gens(0, 0, 4), dataclasses.replace(ENC, distill=1.0), theta=theta)
    assert float(with_d) > float(half) > float(plain)
    assert abs(float(with_d - plain) - 2 * float(half - plain)) < 1e-5
    with pytest.raises(ConfigError, match="distill"):
        NerfEncoderParams(distill=-1.0)

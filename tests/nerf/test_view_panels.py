"""Decoded-vs-input renders, interpolation and transfer panels (Figs. 5, 7-8, 21)."""
from __future__ import annotations

import torch

from nf2vec_core.data.procedural import make_shape
from nf2vec_core.decoders.implicit import ImplicitDecoderConfig
from nf2vec_core.metrics.image import psnr
from nf2vec_core.nerf.arch import NerfArch, init_nerf_batch
from nf2vec_core.nerf.encoder import NerfEncoderParams, build_nerf_models, render_embeddings
from nf2vec_core.nerf.render_config import RenderConfig
from nf2vec_core.nerf.synthetic_views import ViewRenderConfig, render_shape
from nf2vec_core.nerf.tasks import render_nerf_views
from nf2vec_core.nerf.view_panels import (decoded_vs_input, generation_panels, interpolation_panels, retrieval_panels,
                                          transfer_panels)

ARCH = NerfArch(num_freqs=2, hidden=8)
RENDER = RenderConfig(samples_per_ray=8, estimator="batched")


def _setup(n=5):
    views = ViewRenderConfig(n_views=2, n_val_views=4, height=8, width=8, mesh_resolution=16, supersample=1)
    vs = [render_shape(make_shape(c, i), views, "val").viewset("white") for i, c in
          enumerate(["mug", "table", "chair", "mug", "table"][:n])]
    _, decoder = build_nerf_models(ARCH, NerfEncoderParams(hidden=(8,), embed_dim=6), ImplicitDecoderConfig(hidden=8))
    decoder.eval()
    emb = torch.randn(n, 6, generator=torch.Generator().manual_seed(0))
    theta = init_nerf_batch(ARCH, n, seed=0, mode="random")
    return vs, decoder, emb, theta


def test_decoded_vs_input_scores_each_object_and_shows_a_spread():
    vs, decoder, emb, theta = _setup()
    scores, panels = decoded_vs_input(decoder, ARCH, emb, theta, vs, [f"o{j}" for j in range(5)], RENDER, shown=2)
    assert len(scores.decoded) == len(scores.nerf) == len(scores.blank) == 5
    want = psnr(render_nerf_views(ARCH, theta[3:4], vs[3].c2w, vs[3].focal, 8, 8, RENDER)[0], vs[3].rgb).mean()
    assert abs(scores.nerf[3] - float(want)) < 1e-5
    dec = render_embeddings(decoder, emb[1:2], vs[1].c2w.unsqueeze(0), vs[1].focal, 8, 8, RENDER)[0].clamp(0, 1)
    assert abs(scores.decoded[1] - float(psnr(dec, vs[1].rgb).mean())) < 1e-5
    assert abs(scores.blank[0] - float(psnr(torch.ones_like(vs[0].rgb), vs[0].rgb).mean())) < 1e-5
    # two objects (the first and the last), two held-out views each, three panels a view
    assert len(panels.images) == len(panels.titles) == 12
    assert panels.titles[0] == "o0, view 0" and panels.titles[6] == "o4, view 0" and panels.titles[3] == "o0, view 2"
    assert all(im.shape == (8, 8, 3) and float(im.min()) >= 0 and float(im.max()) <= 1 for im in panels.images)
    m = scores.means()
    assert set(m) == {"test_decoded_psnr", "test_nerf_psnr", "test_blank_psnr"}
    assert abs(m["test_nerf_psnr"] - sum(scores.nerf) / 5) < 1e-9


def test_interpolation_panels_end_at_the_two_objects():
    vs, decoder, emb, theta = _setup(2)
    panels = interpolation_panels(decoder, ARCH, emb, theta, vs[0], RENDER, steps=3, n_views=2)
    assert len(panels.images) == 2 * 2 * 3 and panels.titles[0] == "nf2vec latent, t=0.00, view 0"
    assert panels.titles[3] == "NeRF weights, t=0.00, view 0" and panels.titles[-1] == "NeRF weights, t=1.00, view 1"
    end = render_nerf_views(ARCH, theta[1:2], vs[0].c2w[:2], vs[0].focal, 8, 8, RENDER)[0]
    assert torch.allclose(panels.images[5], end[0], atol=1e-5)               # row 1 (weights, view 0), t = 1
    start = render_embeddings(decoder, emb[:1], vs[0].c2w[:2].unsqueeze(0), vs[0].focal, 8, 8, RENDER)[0].clamp(0, 1)
    assert torch.allclose(panels.images[6], start[1], atol=1e-5)             # row 2 (latent, view 1), t = 0


def test_transfer_panels_score_the_mapped_and_the_own_embeddings():
    vs, decoder, emb, _ = _setup(3)
    mapped = emb + 0.5
    p_map, p_own, panels = transfer_panels(decoder, mapped, emb, vs, ["a", "b", "c"], RENDER, shown=2)
    assert len(p_map) == len(p_own) == 3 and len(panels.images) == 6
    own = render_embeddings(decoder, emb[2:3], vs[2].c2w.unsqueeze(0), vs[2].focal, 8, 8, RENDER)[0].clamp(0, 1)
    assert abs(p_own[2] - float(psnr(own, vs[2].rgb).mean())) < 1e-5
    assert panels.titles[:3] == ["ground truth a", "decoded NeRF embedding", "transferred from shape NF"]


def test_retrieval_panels_show_each_query_then_its_nearest_others():
    vs, _, _, theta = _setup(5)
    emb = torch.tensor([[0.0], [1.0], [5.0], [1.5], [9.0]])
    labels = [0, 0, 1, 1, 1]
    panels = retrieval_panels(ARCH, theta, emb, labels, ["mug", "table"], vs[0].c2w[0], vs[0].focal, 8, 8, RENDER,
                              queries=2, k=2)
    assert len(panels.images) == 2 * 3                       # queries 0 and 4 (spread), two neighbours each
    assert panels.titles[:3] == ["query: mug", "#1: mug", "#2: table (other class)"]     # 0 -> 1 (mug), 3 (table)
    assert panels.titles[3:] == ["query: table", "#1: table", "#2: table"]               # 4 -> 2, 3
    want = render_nerf_views(ARCH, theta[3:4], vs[0].c2w[:1], vs[0].focal, 8, 8, RENDER)[0, 0]
    assert torch.allclose(panels.images[2], want, atol=1e-5)


def test_generation_panels_end_each_class_row_with_the_nearest_training_item():
    vs, decoder, emb, _ = _setup(5)
    classes = [1, 0, 1, 1, 0]
    nearest = emb.flip(0)
    panels = generation_panels(decoder, emb, classes, nearest, ["mug", "table"], vs[0].c2w[0], vs[0].focal, 8, 8,
                               RENDER, per_class=2)
    assert panels.titles == ["generated mug 1", "generated mug 2", "nearest training item",
                             "generated table 1", "generated table 2", "nearest training item"]
    c2w = vs[0].c2w[:1].unsqueeze(0)
    assert torch.allclose(panels.images[0], render_embeddings(decoder, emb[1:2], c2w, vs[0].focal, 8, 8,
                                                              RENDER)[0, 0].clamp(0, 1), atol=1e-5)
    assert torch.allclose(panels.images[5], render_embeddings(decoder, nearest[0:1], c2w, vs[0].focal, 8, 8,
                                                              RENDER)[0, 0].clamp(0, 1), atol=1e-5)

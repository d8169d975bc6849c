"""Training the graph meta-network encoder on NeRFs of two architectures (nerf/anynerf.py): the
losses fall, the contrastive loss alone pulls the positive pairs together, a resumed run equals an
uninterrupted one, checkpoints round-trip, the params section is checked."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from nf2vec_core.config import from_dict
from nf2vec_core.data.procedural import make_shape
from nf2vec_core.decoders.implicit import ImplicitDecoderConfig
from nf2vec_core.encoders.gmn import GMNConfig
from nf2vec_core.errors import ConfigError
from nf2vec_core.nerf.anynerf import (AnyNerfParams, arch_pairs, batch_items, build_models, embed_nerfs,
                                      load_checkpoint, save_checkpoint, train_anynerf)
from nf2vec_core.nerf.arch import NerfArch, init_nerf_batch
from nf2vec_core.nerf.fit import SceneBatch
from nf2vec_core.nerf.synthetic_views import ViewRenderConfig, render_shape
from nf2vec_core.runtime import torch_threads

MLP = NerfArch(num_freqs=2, hidden=8, depth=2)
TRI = NerfArch(kind="triplane", plane_res=4, plane_channels=2, hidden=8, depth=2, num_freqs=1)
ARCHS = [MLP, TRI]
P = AnyNerfParams(gmn=GMNConfig(hidden=16, layers=2, embed_dim=16), epochs=6, batch_size=2, lr=3e-3,
                  rays_per_item=32, samples_per_ray=8)
DEC = ImplicitDecoderConfig(hidden=16, layers=2, pe_freqs=2)


@pytest.fixture(autouse=True)
def one_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def scenes():
    views = ViewRenderConfig(n_views=4, n_val_views=1, height=12, width=12, mesh_resolution=20, supersample=1)
    return SceneBatch.stack([render_shape(make_shape(c, i), views, "train").viewset("white")
                             for i, c in enumerate(["mug", "table", "mug", "table"])])


def thetas(n: int, seed: int = 0) -> list[torch.Tensor]:
    return [init_nerf_batch(a, n, seed=seed + k, mode="random") for k, a in enumerate(ARCHS)]


def test_batches_are_positive_pairs_of_two_different_architectures():
    rng = np.random.default_rng(0)
    a, b = arch_pairs(rng, 500, 3)
    assert (a != b).all() and set(a) == set(b) == {0, 1, 2}
    which, rows = batch_items(np.array([5, 2, 7]), 2, rng)
    assert rows.tolist() == [5, 2, 7, 5, 2, 7] and (which[:3] != which[3:]).all()
    which, rows = batch_items(np.array([5, 2]), 1, rng)
    assert rows.tolist() == [5, 2] and which.tolist() == [0, 0]


@pytest.mark.parametrize("loss", ["render", "render_contrastive"])
def test_training_lowers_the_loss(scenes, loss):
    """On fixed rays (the validation loss, here of the training objects): the training rays of a
    step are too few for two steps' losses to compare."""
    p = dataclasses.replace(P, loss=loss, rays_per_item=64)
    th = thetas(4)
    res = train_anynerf(ARCHS, th, scenes, (th, scenes), p, DEC, progress=False)
    h = res.history
    assert len(h["train_loss"]) == p.epochs and h["val_loss"][-1] < h["val_loss"][0] - 1e-3
    assert np.isfinite(h["render"]).all()
    assert np.isfinite(h["contrastive"]).all() == (loss == "render_contrastive")


def positive_rank(emb_x: torch.Tensor, emb_y: torch.Tensor) -> float:
    """Mean rank (0 = first) of ``y_i`` among all ``y`` by cosine similarity to ``x_i``."""
    x, y = torch.nn.functional.normalize(emb_x, dim=1), torch.nn.functional.normalize(emb_y, dim=1)
    sim = x @ y.T
    return float((sim > sim.diag().unsqueeze(1)).sum(1).float().mean())


def test_the_contrastive_loss_alone_pulls_positive_pairs_together():
    """The MLP and the tri-plane NeRF of object i share an offset of all their parameters (what
    makes them one object here: independent random NeRFs have nothing in common to match)."""
    offset = torch.linspace(-1, 1, 8)[torch.randperm(8, generator=torch.Generator().manual_seed(0))].unsqueeze(1)
    th = [t + offset for t in thetas(8, seed=3)]
    p = dataclasses.replace(P, loss="contrastive", epochs=30, batch_size=4, lr=3e-3)
    before = build_models(MLP, p, DEC).encoder
    r0 = positive_rank(embed_nerfs(before, MLP, th[0]), embed_nerfs(before, TRI, th[1]))
    res = train_anynerf(ARCHS, th, None, None, p, DEC, progress=False)
    enc = res.models.encoder
    r1 = positive_rank(embed_nerfs(enc, MLP, th[0]), embed_nerfs(enc, TRI, th[1]))
    assert res.history["train_loss"][-1] < res.history["train_loss"][0]
    assert r0 > 2.0 and r1 <= 0.5, (r0, r1)               # chance: 3.5 of 7


def test_a_resumed_run_equals_an_uninterrupted_one_and_checkpoints_roundtrip(scenes, tmp_path):
    th = thetas(4)
    val = ([t[:2] for t in th], SceneBatch(*(t[:2] for t in (scenes.premult, scenes.alpha, scenes.c2w, scenes.focal))))
    p = dataclasses.replace(P, epochs=3)
    full = train_anynerf(ARCHS, th, scenes, val, p, DEC, progress=False)
    state = tmp_path / "state.safetensors"
    part = train_anynerf(ARCHS, th, scenes, val, p, DEC, progress=False, state_path=state, max_epochs=1)
    assert len(part.history["train_loss"]) == 1
    resumed = train_anynerf(ARCHS, th, scenes, val, p, DEC, progress=False, state_path=state)
    assert resumed.history == full.history and resumed.best_epoch == full.best_epoch
    for a, b in zip(full.models.state().values(), resumed.models.state().values()):
        for key in a:
            assert torch.equal(a[key], b[key]), key
    with pytest.raises(ConfigError, match="cannot resume"):
        train_anynerf(ARCHS, th, scenes, val, dataclasses.replace(p, lr=1e-3), DEC, progress=False, state_path=state)
    path = save_checkpoint(tmp_path / "anynerf.safetensors", full, ARCHS, p, DEC)
    archs, models, p2 = load_checkpoint(path)
    assert archs == ARCHS and p2 == p
    torch.testing.assert_close(embed_nerfs(models.encoder, TRI, th[1]), embed_nerfs(full.models.encoder, TRI, th[1]))


def test_params_section_and_bad_settings():
    p = from_dict(AnyNerfParams, {"loss": "contrastive", "contrastive_weight": 0.05, "gmn": {"hidden": 32},
                                  "batch_size": 4}, "anynerf.train")
    assert p.gmn == GMNConfig(hidden=32) and p.contrastive_weight == 0.05
    with pytest.raises(ConfigError, match="anynerf.train.loss"):
        from_dict(AnyNerfParams, {"loss": "siglip"}, "anynerf.train")
    with pytest.raises(ConfigError, match="anynerf.train.contrastive_weight"):
        from_dict(AnyNerfParams, {"contrastive_weight": -1.0}, "anynerf.train")
    with pytest.raises(ConfigError, match="two architectures"):
        train_anynerf([MLP], thetas(4)[:1], None, None, dataclasses.replace(P, loss="contrastive"), DEC, progress=False)

"""Render-then-classify baselines, majority vote, timing helper and the transfer network."""
from __future__ import annotations

import torch

from nf2vec_core.nerf.tasks import (BaselineParams, SmallCNN, TransferParams, baseline_pose_indices, majority_vote,
                                    inference_times, render_then_classify, time_ms, train_transfer)


def test_pose_indices_spread_and_start_at_zero():
    assert baseline_pose_indices(36, 9)[0] == 0 and len(baseline_pose_indices(36, 9)) == 9
    assert baseline_pose_indices(36, 9)[-1] == 35 and baseline_pose_indices(4, 1) == [0]


def test_majority_vote():
    logits = torch.tensor([[[5.0, 0, 0], [0, 5.0, 0], [0, 4.0, 0]], [[0, 0, 1.0], [3.0, 0, 0], [0, 0, 2.0]]])
    assert majority_vote(logits).tolist() == [1, 2]


def test_cnn_baselines_learn_coloured_images():
    gen = torch.Generator().manual_seed(0)

    def views(n):                           # class 0: reddish views, class 1: bluish views
        y = torch.arange(n) % 2
        base = torch.stack([torch.tensor([0.9, 0.1, 0.1]), torch.tensor([0.1, 0.1, 0.9])])[y]
        x = base[:, None, None, None, :] + 0.1 * torch.rand(n, 3, 16, 16, 3, generator=gen)
        return x.clamp(0, 1), y

    data = {s: views(n) for s, n in (("train", 16), ("val", 6), ("test", 6))}
    acc, models = render_then_classify({k: v[0] for k, v in data.items()}, {k: v[1] for k, v in data.items()}, 2,
                                       BaselineParams(channels=(8,), epochs=8, batch_size=8), progress=False)
    assert acc["single_view_accuracy"] == 1.0 and acc["multi_view_accuracy"] == 1.0
    assert isinstance(models["multi_view"], SmallCNN)
    assert time_ms(lambda: models["single_view"](data["test"][0][:1, 0]), repeats=2, warmup=1) > 0


def test_transfer_learns_a_linear_map():
    g = torch.Generator().manual_seed(0)
    src = torch.randn(64, 8, generator=g)
    w = torch.randn(8, 4, generator=g)
    net, hist = train_transfer(src[:48], src[:48] @ w, src[48:], src[48:] @ w,
                               TransferParams(hidden=(32,), epochs=200, lr=1e-2), progress=False)
    assert hist["val_loss"][-1] < 0.2 * hist["val_loss"][0]


def test_inference_times_table_has_the_three_methods_and_their_totals():
    from nf2vec_core.decoders.implicit import ImplicitDecoderConfig
    from nf2vec_core.nerf.arch import NerfArch, init_nerf_batch
    from nf2vec_core.nerf.encoder import NerfEncoderParams, build_nerf_models
    from nf2vec_core.nerf.rays import sphere_poses
    from nf2vec_core.nerf.render_config import RenderConfig

    arch = NerfArch(num_freqs=2, hidden=8)
    theta = init_nerf_batch(arch, 1, seed=0)
    encoder, _ = build_nerf_models(arch, NerfEncoderParams(hidden=(16,), embed_dim=8), ImplicitDecoderConfig(hidden=8))
    encoder.eval()
    classifier = torch.nn.Linear(8, 3)
    cnns = {"single_view": SmallCNN(3, (4,)), "multi_view": SmallCNN(3, (4,))}
    poses = sphere_poses(3, 3.0)
    views = torch.rand(3, 8, 8, 3)
    table = inference_times(arch, encoder, classifier, cnns, theta, views, poses, 10.0, 8, 8,
                            RenderConfig(samples_per_ray=8, estimator="batched"))
    assert table["method"].tolist()[0] == "nf2vec" and table["views"].tolist() == [0, 1, 3]
    assert (table["rendering_ms"].iloc[1:] > 0).all() and float(table["rendering_ms"].iloc[0]) == 0.0
    parts = table[["encoding_ms", "rendering_ms", "classification_ms"]].sum(axis=1)
    assert torch.allclose(torch.tensor(table["total_ms"].to_numpy()), torch.tensor(parts.to_numpy()))

"""Downstream tasks on NeRFs (paper 000 §VI): render-then-classify baselines, the inference-time
table (Table VII) and the transfer network from shape embeddings to NeRF embeddings (Fig. 21).

Baselines (paper: ResNet50 on 1 fixed view / 9 views with a majority vote; no pretrained weights
can be downloaded here, so a small CNN trained from scratch stands in, same protocol): views are
*rendered from the NeRFs* (train NeRFs for training, unseen test NeRFs for testing) at fixed poses.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from ..tasks.transfer import TransferParams, train_transfer, transfer_net
from .arch import NerfArch
from .encoder import nerf_rows
from .render import render_images
from .render_config import RenderConfig


@dataclass(frozen=True)
class BaselineParams:
    """The ``nerf.baseline`` section: the render-then-classify CNN."""

    views: int = 9                 # multi-view baseline (the single-view one uses the first)
    channels: tuple[int, ...] = (32, 64, 128)
    epochs: int = 30
    lr: float = 2e-3
    batch_size: int = 64
    samples_per_ray: int = 32
    seed: int = 0


def baseline_pose_indices(n_views: int, k: int) -> list[int]:
    """``k`` poses spread over the ``n_views`` training poses (index 0 = the fixed single view)."""
    return sorted({int(round(i)) for i in np.linspace(0, n_views - 1, k)})[:k]


@torch.no_grad()
def render_nerf_views(arch: NerfArch, theta: torch.Tensor, c2w: torch.Tensor, focal: float, height: int, width: int,
                      render: RenderConfig, *, batch: int = 8, progress: bool = False) -> torch.Tensor:
    """Views ``[N, V, H, W, 3]`` of NeRFs ``theta [N, P]`` at poses ``c2w [V, 4, 4]`` (white background)."""
    out = []
    for a in tqdm(range(0, theta.shape[0], batch), desc="render NeRF views", disable=not progress):
        t = theta[a:a + batch]
        poses = c2w.unsqueeze(0).expand(t.shape[0], -1, -1, -1)
        out.append(render_images(arch, t, poses, focal, height, width, render, background=torch.ones(3)).color)
    return torch.cat(out).clamp(0, 1)


class SmallCNN(nn.Module):
    """Conv-BN-ReLU-MaxPool blocks, global average pooling, a linear head."""

    def __init__(self, num_classes: int, channels: Sequence[int] = (32, 64, 128)):
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for c in channels:
            layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            c_in = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # x [B, H, W, 3]
        return self.head(self.features(x.permute(0, 3, 1, 2)).mean((2, 3)))


def train_cnn(train_x: torch.Tensor, train_y: torch.Tensor, val_x: torch.Tensor, val_y: torch.Tensor,
              num_classes: int, p: BaselineParams, progress: bool = True) -> SmallCNN:
    """Adam + flips; the weights with the best validation accuracy are kept."""
    torch.manual_seed(p.seed)
    model = SmallCNN(num_classes, p.channels)
    opt = torch.optim.Adam(model.parameters(), lr=p.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=p.epochs)
    gen = torch.Generator().manual_seed(p.seed)
    best, best_acc = copy.deepcopy(model.state_dict()), -1.0
    for _ in tqdm(range(p.epochs), desc="render-then-classify CNN", unit="epoch", disable=not progress):
        model.train()
        perm = torch.randperm(len(train_x), generator=gen)
        for a in range(0, len(perm), p.batch_size):
            idx = perm[a:a + p.batch_size]
            if len(idx) < 2:
                continue
            x = train_x[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(2), x)
            loss = nn.functional.cross_entropy(model(x), train_y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        sched.step()
        acc = float((predict(model, val_x).argmax(-1) == val_y).float().mean())
        if acc > best_acc:
            best_acc, best = acc, copy.deepcopy(model.state_dict())
    model.load_state_dict(best)
    return model.eval()


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch: int = 256) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[a:a + batch]) for a in range(0, len(x), batch)])


def majority_vote(logits: torch.Tensor) -> torch.Tensor:
    """``[N, V, C]`` per-view logits -> ``[N]`` the most frequent per-view class (ties: summed logits)."""
    votes = nn.functional.one_hot(logits.argmax(-1), logits.shape[-1]).sum(1).float()
    return (votes + 1e-3 * logits.softmax(-1).sum(1)).argmax(-1)


def render_then_classify(views: dict[str, torch.Tensor], labels: dict[str, torch.Tensor], num_classes: int,
                         p: BaselineParams, progress: bool = True) -> tuple[dict[str, float], dict[str, SmallCNN]]:
    """Single-view (pose 0) and multi-view (all ``V`` poses, majority vote) CNN baselines.

    ``views[split] [N, V, H, W, 3]`` rendered from the NeRFs of each split; returns test accuracies
    and the two trained CNNs."""
    out, models = {}, {}
    for name, sel in (("single_view", slice(0, 1)), ("multi_view", slice(None))):
        tr = views["train"][:, sel]
        v = tr.shape[1]
        x = tr.reshape(-1, *tr.shape[2:])
        y = labels["train"].repeat_interleave(v)
        va = views["val"][:, sel]
        model = train_cnn(x, y, va.reshape(-1, *va.shape[2:]), labels["val"].repeat_interleave(va.shape[1]),
                          num_classes, p, progress)
        te = views["test"][:, sel]
        logits = predict(model, te.reshape(-1, *te.shape[2:])).view(te.shape[0], te.shape[1], -1)
        pred = majority_vote(logits)
        out[f"{name}_accuracy"] = float((pred == labels["test"]).float().mean())
        models[name] = model
    return out, models


def time_ms(fn: Callable[[], object], repeats: int = 10, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` in milliseconds."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return 1000.0 * float(np.median(ts))


@torch.no_grad()
def inference_times(arch: NerfArch, encoder: nn.Module, classifier: nn.Module, cnns: dict[str, nn.Module],
                    theta: torch.Tensor, views: torch.Tensor, poses: torch.Tensor, focal: float, height: int,
                    width: int, render: RenderConfig) -> pd.DataFrame:
    """Paper 000 Table VII for one NeRF ``theta [1, P]``, queried alone as a user would: nf2vec
    (encode the weights, classify the embedding) against rendering ``V`` views at ``poses [V, 4, 4]``
    and classifying them with the ``single_view`` (first pose) and ``multi_view`` (all poses) CNNs;
    ``views [V, H, W, 3]`` are that NeRF's renders. Median wall times in ms, one row per method."""
    classifier.eval()
    e = encoder(nerf_rows(arch, theta))
    rows = [{"method": "nf2vec", "views": 0, "encoding_ms": time_ms(lambda: encoder(nerf_rows(arch, theta))),
             "rendering_ms": 0.0, "classification_ms": time_ms(lambda: classifier(e))}]
    for name, k in (("single_view", 1), ("multi_view", poses.shape[0])):
        rend_ms = time_ms(lambda: render_nerf_views(arch, theta, poses[:k], focal, height, width, render),
                          repeats=3, warmup=1)
        c_ms = time_ms(lambda: predict(cnns[name], views[:k]))
        rows.append({"method": f"render-then-classify CNN ({name.replace('_', '-')})", "views": k, "encoding_ms": 0.0,
                     "rendering_ms": rend_ms, "classification_ms": c_ms})
    table = pd.DataFrame(rows)
    table["total_ms"] = table[["encoding_ms", "rendering_ms", "classification_ms"]].sum(axis=1)
    return table


# ---------------------------------------------------------------------------- transfer
# the transfer MLP between embedding spaces lives in tasks/transfer.py (shape tasks use it too)


__all__ = ["BaselineParams", "baseline_pose_indices", "render_nerf_views", "SmallCNN", "train_cnn", "predict",
           "majority_vote", "render_then_classify", "time_ms", "inference_times", "TransferParams", "transfer_net", "train_transfer"]

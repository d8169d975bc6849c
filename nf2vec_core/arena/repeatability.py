"""Repeatability, linear mode connectivity and weight matching of NFs fitted to the same signal
(paper 000 §VIII Figs. 24-25; git re-basin's "matching weights").

Each of ``signals`` images is fitted ``replicas`` times, under two regimes:

* ``same init``: every replica starts from the one shared initialisation; replicas differ only in
  the random subset of pixels drawn at each step (``points_per_step`` < number of pixels);
* ``different inits``: replica ``r`` starts from its own random initialisation (the same for all
  signals), with the same pixel sampling as above.

From the fits it measures: the loss barrier along the straight line between two replicas of one
signal (~0 = linearly mode connected), also after aligning the second replica to the first with
weight matching; whether weight matching finds the identity permutation; and the matrix of L2
distances between all fits (fits of one signal should sit closer to each other than to fits of
other signals: the within/between distance ratio).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConfigError
from ..fields.pixels import image_coords
from ..fitting.engine import FitConfig, FitTargets, fit_chunk
from ..nf.init import _derive, init_vector
from ..nf.layout import ArchSpec
from ..weightspace.connectivity import linear_connectivity, match_weights
from ..weightspace.distances import pairwise_distances


@dataclass(frozen=True)
class ConnectivityParams:
    """The ``arena.connectivity`` section."""

    dataset: str = "mnist"
    nf: str = "siren"
    signals: int = 4
    replicas: int = 4
    steps: int = 300
    lr: float = 1e-3
    points_per_step: int = 256
    curve_steps: int = 11
    seed: int = 0

    def __post_init__(self) -> None:
        if self.signals < 2 or self.replicas < 2:
            raise ConfigError("arena.connectivity: signals and replicas must both be >= 2")
        if self.points_per_step < 1:
            raise ConfigError("arena.connectivity.points_per_step: must be >= 1 (a subset of pixels, so that "
                              "replicas from one init differ)")


REGIMES = ("same init", "different inits")


def fit_replicas(spec: ArchSpec, images: torch.Tensor, cfg: ConnectivityParams) -> dict[str, torch.Tensor]:
    """``{regime: theta [S, R, P]}`` for images ``[S, H, W]`` (values in [0, 1])."""
    s, h, w = images.shape
    targets = FitTargets(image_coords(h, w), images.reshape(s, h * w, 1).float())
    fcfg = FitConfig(steps=cfg.steps, lr=cfg.lr, points_per_step=min(cfg.points_per_step, h * w),
                     chunk_size=s, loss="mse")
    shared = init_vector(spec, cfg.seed)
    out = {}
    for regime in REGIMES:
        reps = []
        for r in range(cfg.replicas):
            theta0 = shared if regime == "same init" else init_vector(spec, _derive(cfg.seed, r))
            theta, _ = fit_chunk(spec, theta0.unsqueeze(0).repeat(s, 1), targets, fcfg, seed=cfg.seed + 1 + r)
            reps.append(theta)
        out[regime] = torch.stack(reps, dim=1)
    return out


def within_between_ratio(dist: torch.Tensor, signals: int, replicas: int) -> float:
    """Mean L2 distance between fits of the same signal over that between fits of different signals."""
    lab = torch.arange(signals).repeat_interleave(replicas)
    same = lab[:, None] == lab[None, :]
    off = ~torch.eye(len(lab), dtype=torch.bool)
    return float(dist[same & off].mean() / dist[~same].mean())


def connectivity_study(spec: ArchSpec, images: torch.Tensor, cfg: ConnectivityParams) -> tuple[dict, dict]:
    """Run the study; returns ``(metrics, arrays)`` — arrays hold the curves and distance matrices
    for the figures: ``curves[name] = (alphas, mean loss over signals)``, ``matrices[regime]``."""
    fits = fit_replicas(spec, images, cfg)
    s, h, w = images.shape
    coords, values = image_coords(h, w), images.reshape(s, h * w, 1).float()
    metrics: dict = {"signals": cfg.signals, "replicas": cfg.replicas, "steps": cfg.steps,
                     "points_per_step": cfg.points_per_step}
    curves, matrices = {}, {}
    for regime, theta in fits.items():
        tag = regime.replace(" ", "_")
        flat = theta.reshape(s * cfg.replicas, -1)
        dist = pairwise_distances(flat)
        matrices[regime] = dist.numpy()
        metrics[f"{tag}_within_between_ratio"] = within_between_ratio(dist, s, cfg.replicas)
        raw, aligned, barrier_raw, barrier_aligned, ident = [], [], [], [], []
        for i in range(s):
            a, b = theta[i, 0], theta[i, 1]
            c = linear_connectivity(spec, a, b, coords, values[i], steps=cfg.curve_steps)
            m = match_weights(spec, a, b)
            c2 = linear_connectivity(spec, a, m.aligned, coords, values[i], steps=cfg.curve_steps)
            raw.append(c.losses)
            aligned.append(c2.losses)
            barrier_raw.append(c.barrier)
            barrier_aligned.append(c2.barrier)
            ident.append(np.mean(list(m.identity_fraction.values())))
        alphas = c.alphas.numpy()
        curves[f"{regime}"] = (alphas, torch.stack(raw).mean(0).numpy())
        curves[f"{regime}, after weight matching"] = (alphas, torch.stack(aligned).mean(0).numpy())
        metrics[f"{tag}_barrier"] = float(np.mean(barrier_raw))
        metrics[f"{tag}_barrier_after_matching"] = float(np.mean(barrier_aligned))
        metrics[f"{tag}_matching_identity_fraction"] = float(np.mean(ident))
        metrics[f"{tag}_endpoint_loss"] = float(torch.stack(raw)[:, [0, -1]].mean())
    return metrics, {"curves": curves, "matrices": matrices}


__all__ = ["ConnectivityParams", "REGIMES", "fit_replicas", "within_between_ratio", "connectivity_study"]

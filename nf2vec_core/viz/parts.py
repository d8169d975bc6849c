"""Figures of part segmentation (PNG): segmented point clouds, ground truth beside prediction.

Same conventions as :mod:`.plots` (object-oriented matplotlib on the Agg canvas, atomic writes
through :func:`~.plots.save_figure`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..errors import BadInputError
from .plots import PathLike, _new_figure, _np, save_figure

PART_COLOURS = 20   # tab20: part id k is drawn in colour k mod 20


def plot_part_segmentation(points: Sequence[np.ndarray | torch.Tensor], predicted: Sequence[np.ndarray | torch.Tensor],
                           truth: Sequence[np.ndarray | torch.Tensor], titles: Sequence[str], path: PathLike,
                           elev: float = 20.0, azim: float = -60.0, max_points: int = 4096,
                           point_size: float = 2.0) -> Path:
    """Segmented point clouds: one row per shape, ground truth (left) and prediction (right), each
    point coloured by its part id (``tab20``, the same colour for the same id in both panels).

    ``points[i] [n, 3]`` with part ids ``predicted[i]``, ``truth[i]`` ``[n]``; the prediction
    panel's title adds the fraction of points whose part is right. Clouds are subsampled
    (deterministically) to ``max_points`` for drawing; the axes are cubes around each cloud.
    """
    n = len(points)
    if n == 0 or not n == len(predicted) == len(truth) == len(titles):
        raise BadInputError(path, f"plot_part_segmentation: {n} clouds, {len(predicted)} predictions, "
                                  f"{len(truth)} ground truths, {len(titles)} titles")
    fig = _new_figure(6, 3 * n)
    rng = np.random.default_rng(0)
    for i in range(n):
        p, pred, gt = _np(points[i]).reshape(-1, 3), _np(predicted[i]).reshape(-1), _np(truth[i]).reshape(-1)
        if not p.shape[0] == pred.shape[0] == gt.shape[0]:
            raise BadInputError(path, f"plot_part_segmentation: shape {i} has {p.shape[0]} points, "
                                      f"{pred.shape[0]} predicted and {gt.shape[0]} true labels")
        right = float((pred == gt).mean()) if gt.size else float("nan")
        if p.shape[0] > max_points:
            keep = rng.choice(p.shape[0], max_points, replace=False)
            p, pred, gt = p[keep], pred[keep], gt[keep]
        lo, hi = (p.min(0), p.max(0)) if p.shape[0] else (np.zeros(3), np.zeros(3))
        half = max(float((hi - lo).max()) / 2, 1e-6)
        for j, (lab, name) in enumerate(((gt, "ground truth"), (pred, f"predicted ({right:.1%} right)"))):
            ax = fig.add_subplot(n, 2, 2 * i + j + 1, projection="3d")
            ax.scatter(p[:, 0], p[:, 1], p[:, 2], s=point_size, c=lab % PART_COLOURS, cmap="tab20",
                       vmin=0, vmax=PART_COLOURS - 1, depthshade=False)
            for axis, c in zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), (lo + hi) / 2):
                axis(c - half, c + half)
            ax.set_box_aspect((1, 1, 1))
            ax.view_init(elev=elev, azim=azim)
            ax.set_axis_off()
            ax.set_title(f"{titles[i]}\n{name}", fontsize=9)   # two lines: side-by-side titles would overlap
    return save_figure(fig, path)


__all__ = ["plot_part_segmentation", "PART_COLOURS"]

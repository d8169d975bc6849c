"""The field-kind mapping figure (Zama Ramirez et al., *Deep Learning on 3D Neural Fields*, Fig. 18):
per test item, the source shape (e.g. the point cloud of a UDF), the mesh decoded from the mapped
embedding (shaded triangles), and the ground-truth surface."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from mpl_toolkits.mplot3d.art3d import Poly3DCollection

from ..errors import BadInputError
from .plots import PathLike, _new_figure, _np, save_figure

__all__ = ["plot_field_maps"]


def _frame(ax, pts: np.ndarray, elev: float, azim: float) -> None:
    if len(pts):
        center, half = (pts.max(0) + pts.min(0)) / 2, max(float((pts.max(0) - pts.min(0)).max()) / 2, 1e-6)
        for axis, c in zip((ax.set_xlim, ax.set_ylim, ax.set_zlim), center):
            axis(c - half, c + half)
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=elev, azim=azim)
    ax.set_axis_off()


def _shade(verts: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Grey levels of the faces from a fixed light (Lambert, with an ambient floor)."""
    tri = verts[faces]
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n /= np.linalg.norm(n, axis=1, keepdims=True).clip(1e-12)
    light = np.array([0.4, 0.5, 0.75]) / np.linalg.norm([0.4, 0.5, 0.75])
    g = 0.3 + 0.7 * np.abs(n @ light)
    return np.stack([g * 0.55, g * 0.7, g * 0.9, np.ones_like(g)], axis=1)


def plot_field_maps(source: Sequence[np.ndarray | torch.Tensor], meshes: Sequence[tuple[np.ndarray, np.ndarray]],
                    truth: Sequence[np.ndarray | torch.Tensor], names: Sequence[str], path: PathLike,
                    labels: tuple[str, str, str] = ("source", "nf2vec mapped", "ground truth"),
                    max_points: int = 2048, elev: float = 20.0, azim: float = -60.0) -> Path:
    """One row per item (``names[i]``): the source cloud, the mapped mesh ``(verts, faces)`` and the
    ground-truth cloud, titled by ``labels``."""
    n = len(source)
    if n == 0 or not n == len(meshes) == len(truth) == len(names):
        raise BadInputError(path, f"plot_field_maps: {n} source clouds, {len(meshes)} meshes, {len(truth)} "
                                  f"ground-truth clouds and {len(names)} names")
    fig = _new_figure(9, 3 * n)
    rng = np.random.default_rng(0)
    for i in range(n):
        for j in range(3):
            ax = fig.add_subplot(n, 3, 3 * i + j + 1, projection="3d")
            if j == 1:
                verts, faces = (np.asarray(a) for a in meshes[i])
                if len(faces):
                    ax.add_collection3d(Poly3DCollection(verts[faces], facecolors=_shade(verts, faces),
                                                         edgecolors="none"))
                _frame(ax, verts, elev, azim)
                title = f"{labels[1]} ({len(faces)} faces)" if len(faces) else f"{labels[1]} (empty)"
            else:
                p = _np(source[i] if j == 0 else truth[i]).reshape(-1, 3)
                if p.shape[0] > max_points:
                    p = p[rng.choice(p.shape[0], max_points, replace=False)]
                ax.scatter(p[:, 0], p[:, 1], p[:, 2], s=1.0, c=p[:, 1], cmap="viridis", depthshade=False)
                _frame(ax, p, elev, azim)
                title = f"{names[i]}\n{labels[0]}" if j == 0 else labels[2]
            ax.set_title(title, fontsize=9)
    return save_figure(fig, path)

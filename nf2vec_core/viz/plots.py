"""Report figures (PNG) for the downstream tasks: confusion, t-SNE, timing, clouds, images, curves.

Built on matplotlib's object-oriented API with the Agg canvas (no pyplot, no global backend
change, no display needed). Every function writes atomically — render to a temporary file in the
destination folder, then ``os.replace`` — creates missing parent folders, and returns the path.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from ..errors import BadInputError

PathLike = str | os.PathLike


def _np(a: np.ndarray | torch.Tensor | Sequence) -> np.ndarray:
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def _new_figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path: PathLike) -> Path:
    """Write ``fig`` as PNG to ``path`` atomically (tmp file in the same folder + ``os.replace``)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
    try:
        fig.savefig(tmp, format="png", bbox_inches="tight")
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def _grid(n: int, ncols: int) -> tuple[int, int]:
    ncols = max(1, min(ncols, n))
    return (n + ncols - 1) // ncols, ncols


def plot_confusion(conf: np.ndarray, class_names: Sequence[str], path: PathLike,
                   title: str = "Confusion matrix", normalize: bool = True) -> Path:
    """Confusion matrix ``[C, C]`` (rows true, columns predicted); colours row-normalised if asked.

    Cell counts are written in the cells when ``C <= 20``.
    """
    m = _np(conf).astype(np.float64)
    c = len(class_names)
    if m.ndim != 2 or m.shape != (c, c):
        raise BadInputError(path, f"plot_confusion: expected a [{c}, {c}] matrix, got {m.shape}")
    shown = m / np.maximum(m.sum(axis=1, keepdims=True), 1) if normalize else m
    size = max(4.0, 0.45 * c + 2)
    fig = _new_figure(size + 1, size)
    ax = fig.add_subplot()
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(c), labels=list(class_names), rotation=90)
    ax.set_yticks(range(c), labels=list(class_names))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if c <= 20:
        thr = shown.max() / 2 if shown.size else 0
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, f"{int(v)}", ha="center", va="center", fontsize=7,
                    color="white" if shown[i, j] > thr else "black")
    return save_figure(fig, path)


def plot_tsne(xy: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor,
              class_names: Sequence[str], path: PathLike, title: str = "t-SNE of embeddings") -> Path:
    """2-D scatter ``xy [N, 2]`` coloured by ``labels [N]`` (indices into ``class_names``)."""
    pts, lab = _np(xy), _np(labels).reshape(-1)
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] != lab.shape[0] or pts.shape[0] == 0:
        raise BadInputError(path, f"plot_tsne: expected xy [N, 2] and labels [N], got {pts.shape}, {lab.shape}")
    fig = _new_figure(7, 6)
    ax = fig.add_subplot()
    cmap = "tab10" if len(class_names) <= 10 else "tab20"
    sc = ax.scatter(pts[:, 0], pts[:, 1], c=lab, cmap=cmap, s=8, vmin=0, vmax=max(len(class_names) - 1, 1))
    handles = [ax.scatter([], [], color=sc.cmap(sc.norm(i)), s=20, label=name)
               for i, name in enumerate(class_names)]
    ax.legend(handles=handles, loc="best", fontsize=7, markerscale=1.0, ncols=1 + len(class_names) // 15)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    return save_figure(fig, path)


def plot_timing(df: pd.DataFrame, path: PathLike, logy: bool = True,
                title: str = "Classification latency per sample") -> Path:
    """Latency (ms, ``latency_ms``) vs point count (``n_points``, log x), one line per ``method``."""
    missing = {"method", "n_points", "latency_ms"} - set(df.columns)
    if missing or df.empty:
        raise BadInputError(path, f"plot_timing: need a non-empty frame with columns method, n_points, "
                                  f"latency_ms; missing {sorted(missing)}")
    fig = _new_figure(7, 4.5)
    ax = fig.add_subplot()
    for method, g in df.groupby("method", sort=False):
        g = g.sort_values("n_points")
        ax.plot(g["n_points"], g["latency_ms"], marker="o", label=str(method))
    ax.set_xscale("log", base=2)
    counts = sorted(int(c) for c in df["n_points"].unique())
    ax.set_xticks(counts, labels=[f"{c:,}" for c in counts])
    ax.xaxis.set_minor_formatter(NullFormatter())
    if logy:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("number of points")
    ax.set_ylabel("latency per sample [ms]")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return save_figure(fig, path)


def plot_point_clouds(clouds: Sequence[np.ndarray | torch.Tensor], titles: Sequence[str], path: PathLike,
                      ncols: int = 4, elev: float = 20.0, azim: float = -60.0, max_points: int = 4096,
                      point_size: float = 1.0) -> Path:
    """Grid of 3-D scatter plots (fixed view ``elev``/``azim``, equal box aspect).

    Each cloud ``[n, 3]`` is subsampled (deterministically) to ``max_points`` for drawing.
    """
    if len(clouds) == 0 or len(clouds) != len(titles):
        raise BadInputError(path, f"plot_point_clouds: {len(clouds)} clouds vs {len(titles)} titles")
    rows, cols = _grid(len(clouds), ncols)
    fig = _new_figure(3 * cols, 3 * rows)
    rng = np.random.default_rng(0)
    for i, (cloud, title) in enumerate(zip(clouds, titles)):
        p = _np(cloud).reshape(-1, 3)
        if p.shape[0] > max_points:
            p = p[rng.choice(p.shape[0], max_points, replace=False)]
        ax = fig.add_subplot(rows, cols, i + 1, projection="3d")
        if p.shape[0]:
            ax.scatter(p[:, 0], p[:, 1], p[:, 2], s=point_size, c=p[:, 1], cmap="viridis", depthshade=False)
            center = (p.max(0) + p.min(0)) / 2
            half = max(float((p.max(0) - p.min(0)).max()) / 2, 1e-6)
            ax.set_xlim(center[0] - half, center[0] + half)
            ax.set_ylim(center[1] - half, center[1] + half)
            ax.set_zlim(center[2] - half, center[2] + half)
        ax.set_box_aspect((1, 1, 1))
        ax.view_init(elev=elev, azim=azim)
        ax.set_axis_off()
        ax.set_title(str(title), fontsize=9)
    return save_figure(fig, path)


def plot_image_grid(images: Sequence[np.ndarray | torch.Tensor], titles: Sequence[str], path: PathLike,
                    ncols: int = 4) -> Path:
    """Grid of images ``[H, W]`` (grey) or ``[H, W, 3|4]``; floats are clipped to ``[0, 1]``."""
    if len(images) == 0 or len(images) != len(titles):
        raise BadInputError(path, f"plot_image_grid: {len(images)} images vs {len(titles)} titles")
    rows, cols = _grid(len(images), ncols)
    fig = _new_figure(2.5 * cols, 2.5 * rows)
    for i, (img, title) in enumerate(zip(images, titles)):
        a = _np(img)
        if a.ndim == 3 and a.shape[-1] == 1:
            a = a[..., 0]
        if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)):
            raise BadInputError(path, f"plot_image_grid: image {i} has shape {a.shape}")
        if a.dtype != np.uint8:
            a = np.clip(a.astype(np.float32), 0.0, 1.0)
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(a, cmap="gray" if a.ndim == 2 else None, vmin=0, vmax=255 if a.dtype == np.uint8 else 1)
        ax.set_axis_off()
        ax.set_title(str(title), fontsize=9)
    return save_figure(fig, path)


def plot_histograms(values: Mapping[str, np.ndarray | torch.Tensor | Sequence[float]], path: PathLike,
                    xlabel: str = "value", bins: int = 30, title: str | None = None) -> Path:
    """Overlaid histograms, one per named series (shared bin edges; non-finite values dropped)."""
    series = {k: _np(v).astype(np.float64).reshape(-1) for k, v in values.items()}
    series = {k: v[np.isfinite(v)] for k, v in series.items()}
    allv = np.concatenate([v for v in series.values()]) if series else np.empty(0)
    if allv.size == 0:
        raise BadInputError(path, "plot_histograms: no finite values to plot")
    edges = np.histogram_bin_edges(allv, bins=bins)
    fig = _new_figure(6.5, 4)
    ax = fig.add_subplot()
    for name, v in series.items():
        ax.hist(v, bins=edges, alpha=0.5, label=f"{name} (n={v.size})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    if title:
        ax.set_title(title)
    ax.legend()
    return save_figure(fig, path)


def plot_training_curves(history: Mapping[str, Sequence[float]], path: PathLike, ncols: int = 3) -> Path:
    """One subplot per non-empty series of ``history`` (value vs epoch/step); ``*loss*`` on log y."""
    series = {k: np.asarray(v, dtype=np.float64) for k, v in history.items() if len(v) > 0}
    if not series:
        raise BadInputError(path, "plot_training_curves: history has no non-empty series")
    rows, cols = _grid(len(series), ncols)
    fig = _new_figure(4 * cols, 3 * rows)
    for i, (name, v) in enumerate(series.items()):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.plot(np.arange(1, v.size + 1), v, marker="." if v.size < 50 else None)
        if "loss" in name and np.all(v[np.isfinite(v)] > 0):
            ax.set_yscale("log")
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
    return save_figure(fig, path)


def plot_scatter_groups(df: pd.DataFrame, x: str, y: str, path: PathLike, *, color: str, marker: str | None = None,
                        xlabel: str | None = None, ylabel: str | None = None, title: str | None = None) -> Path:
    """Scatter of ``df[x]`` vs ``df[y]``, one colour per value of ``color`` and one marker per value
    of ``marker`` (paper 004 Figs. 5-7 style: one dot per neural dataset)."""
    d = df[[c for c in {x, y, color, marker} if c]].dropna(subset=[x, y])
    if d.empty:
        raise BadInputError(path, f"plot_scatter_groups: no rows with both {x!r} and {y!r}")
    markers = "osD^v<>Px*"
    mvals = sorted(d[marker].astype(str).unique()) if marker else [None]
    fig = _new_figure(6.5, 4.5)
    ax = fig.add_subplot()
    for ci, (cval, g) in enumerate(sorted(d.groupby(color), key=lambda t: str(t[0]))):
        for mi, mval in enumerate(mvals):
            h = g if mval is None else g[g[marker].astype(str) == mval]
            if len(h):
                label = f"{cval}" if mval is None else f"{cval} · {mval}"
                ax.scatter(h[x], h[y], s=36, marker=markers[mi % len(markers)], color=f"C{ci}", label=label, alpha=0.8)
    ax.set_xlabel(xlabel or x)
    ax.set_ylabel(ylabel or y)
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_curves(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], path: PathLike, *,
                xlabel: str = "x", ylabel: str = "y", title: str | None = None, logy: bool = False) -> Path:
    """Line plot, one named ``(x, y)`` series per entry (e.g. loss along an interpolation path)."""
    if not curves:
        raise BadInputError(path, "plot_curves: no curves to plot")
    fig = _new_figure(6.5, 4)
    ax = fig.add_subplot()
    for i, (name, (xs, ys)) in enumerate(curves.items()):
        ax.plot(_np(xs), _np(ys), marker=".", color=f"C{i % 10}", label=name)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_matrices(mats: Mapping[str, np.ndarray | torch.Tensor], path: PathLike, *, title: str | None = None,
                  colorbar_label: str = "") -> Path:
    """Side-by-side heatmaps on one colour scale (e.g. repeatability distance matrices)."""
    arrs = {k: _np(v).astype(np.float64) for k, v in mats.items()}
    if not arrs:
        raise BadInputError(path, "plot_matrices: nothing to plot")
    vmax = max(float(np.nanmax(a)) for a in arrs.values())
    fig = _new_figure(4.2 * len(arrs) + 0.8, 4)
    for i, (name, a) in enumerate(arrs.items()):
        ax = fig.add_subplot(1, len(arrs), i + 1)
        im = ax.imshow(a, cmap="viridis", vmin=0.0, vmax=vmax)
        ax.set_title(name, fontsize=10)
    fig.colorbar(im, ax=fig.axes, label=colorbar_label, shrink=0.8)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


__all__ = ["save_figure", "plot_confusion", "plot_tsne", "plot_timing", "plot_point_clouds",
           "plot_image_grid", "plot_histograms", "plot_training_curves", "plot_scatter_groups", "plot_curves",
           "plot_matrices"]

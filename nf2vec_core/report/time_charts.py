"""Timing charts the results pages draw themselves from a pipeline's tables: the default pipeline's
stage times, the per-NeRF latency by part, and the time of each Arena run (stacked bars)."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from nf2vec_core.errors import BadInputError
from nf2vec_core.store.io import read_csv_rows
from nf2vec_core.store.results import read_results
from nf2vec_core.viz.plots import save_figure


def plot_stacked_bars(bars: Mapping[str, Mapping[str, float]], path: Path, *, xlabel: str,
                      title: str) -> Path:
    """Horizontal bars, one per key of ``bars``, each stacked from its named parts (same parts'
    colours across bars); written as PNG to ``path``."""
    if not bars or not any(bars.values()):
        raise BadInputError(path, "plot_stacked_bars: nothing to draw")
    parts = list(dict.fromkeys(p for segs in bars.values() for p in segs))
    fig = Figure(figsize=(7.5, 0.6 * len(bars) + 1.6), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    labels = list(bars)
    left = [0.0] * len(labels)
    for part in parts:
        widths = [float(bars[k].get(part, 0.0)) for k in labels]
        ax.barh(labels, widths, left=left, label=part)
        left = [a + b for a, b in zip(left, widths)]
    for y, total in enumerate(left):
        ax.annotate(f"{total:,.0f}" if total >= 100 else f"{total:.3g}", (total, y), xytext=(4, 0), textcoords="offset points", va="center")
    ax.margins(x=0.12)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(True, axis="x", alpha=0.3)
    if len(parts) > 1:
        ax.legend(loc="best")
    return save_figure(fig, path)


def draw_stage_times(metrics_dir: Path, plots_dir: Path, dataset: str) -> Path:
    """``plots/stage_times_<dataset>.png``: the default pipeline's timed stages (their metrics' seconds)."""
    m = {s: read_results(metrics_dir / f"{s}_{dataset}.json") for s in ("fit", "fit_views", "train", "weightspace")}
    views = sum(v.get("seconds", 0.0) for v in m["fit_views"].values() if isinstance(v, dict))
    bars = {"fit": m["fit"].get("seconds"), "fit_views": views or None, "train_encoder": m["train"].get("seconds"),
            "weightspace (GNN)": m["weightspace"].get("gnn", {}).get("train_seconds"),
            "weightspace (MLP)": m["weightspace"].get("mlp", {}).get("train_seconds")}
    return plot_stacked_bars({k: {"seconds": v} for k, v in bars.items() if v}, plots_dir / f"stage_times_{dataset}.png",
                             xlabel="seconds", title=f"Timed stages of the default pipeline ({dataset})")


def draw_nerf_timing(plots_dir: Path) -> Path:
    """``plots/nerf_timing.png``: per-NeRF latency of nf2vec and of the render-then-classify CNNs, by part."""
    rows = read_csv_rows(plots_dir / "nerf_timing.csv")
    bars = {r["method"]: {part: float(r[f"{part}_ms"]) for part in ("encoding", "rendering", "classification")}
            for r in rows}
    return plot_stacked_bars(bars, plots_dir / "nerf_timing.png", xlabel="milliseconds per NeRF",
                             title="Classifying one NeRF: nf2vec against rendering views")


def draw_arena_times(reports_dir: Path, plots_dir: Path) -> Path:
    """``plots/arena_times.png``: fitting and classifier training time of every Arena run."""
    bars = {}
    for r in read_csv_rows(reports_dir / "arena_runs.csv"):
        parts = {"fit": r.get("fit_seconds"), "MLP training": r.get("mlp_train_seconds"),
                 "GNN training": r.get("gnn_train_seconds")}
        bars[r["run"]] = {k: float(v) for k, v in parts.items() if v not in (None, "")}
    return plot_stacked_bars(bars, plots_dir / "arena_times.png", xlabel="seconds",
                             title="Neural Field Arena: time of each run")


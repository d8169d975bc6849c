"""Figures of the Neural Field Arena studies (Papa et al. Figs. 4-7), one dot per neural dataset."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from ..store.neural_dataset import NeuralDataset
from ..viz.plots import plot_histograms, plot_scatter_groups
from ..weightspace.distances import pairwise_distance_values
from .studies import ArenaRun


def run_scatter_plots(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Fig. 5 (accuracy vs k-means NMI of the weights, by init), Fig. 6 (accuracy vs on-grid PSNR) and
    Fig. 7 (accuracy vs off-grid/on-grid PSNR ratio), the latter two coloured by NF width."""
    out_dir = Path(out_dir)
    t = table.assign(width=table["nf"].astype(str) + " (" + table["hidden"].astype(str) + ")")
    return [
        plot_scatter_groups(t, "nmi", "best_accuracy", out_dir / "accuracy_vs_nmi.png", color="init", marker="dataset",
                            xlabel="k-means NMI of the weights", ylabel="test accuracy",
                            title="Shared vs random init: NMI vs accuracy (Papa et al. Fig. 5)"),
        plot_scatter_groups(t, "psnr", "best_accuracy", out_dir / "accuracy_vs_psnr.png", color="width",
                            marker="dataset", xlabel="on-grid PSNR (dB)", ylabel="test accuracy",
                            title="Reconstruction vs representation (Papa et al. Fig. 6)"),
        plot_scatter_groups(t, "psnr_ratio", "best_accuracy", out_dir / "accuracy_vs_psnr_ratio.png", color="width",
                            marker="dataset", xlabel="off-grid PSNR / on-grid PSNR", ylabel="test accuracy",
                            title="Overfitting vs representation (Papa et al. Fig. 7)"),
    ]


def distance_histograms(runs: list[ArenaRun], neural_root: Path, out_dir: Path, *, max_nfs: int = 300,
                        seed: int = 0) -> list[Path]:
    """Fig. 4: pairwise L2 distances between the NFs of a neural dataset, one histogram per
    (init, steps) of each dataset × NF (``max_nfs`` NFs drawn per run, same rows for every run)."""
    groups: dict[tuple[str, str], dict[str, torch.Tensor]] = {}
    for r in sorted(runs, key=lambda r: (r.init, r.steps)):
        neural = NeuralDataset(Path(neural_root) / r.name)
        gen = torch.Generator().manual_seed(seed)
        n = len(neural.index)
        rows = torch.randperm(n, generator=gen)[:max_nfs].sort().values
        theta = neural.params(rows.tolist())            # reads only the shards holding these rows
        groups.setdefault((r.dataset, r.nf), {})[f"{r.init}, {r.steps} steps"] = \
            pairwise_distance_values(theta, spec=neural.spec)
    return [plot_histograms(series, Path(out_dir) / f"param_distances_{d}_{nf}.png", xlabel="pairwise L2 distance",
                            bins=60, title=f"Pairwise NF distances, {d} / {nf} (Papa et al. Fig. 4)")
            for (d, nf), series in groups.items() if len(series) > 1]


__all__ = ["run_scatter_plots", "distance_histograms"]

"""Repeatability, linear mode connectivity and weight matching of NFs of the same signal
(paper 000 Figs. 24-25, git re-basin): params arena.connectivity."""
from __future__ import annotations

import torch
from _common import PATHS, params, parser, run

from nf2vec_core.arena.repeatability import ConnectivityParams, connectivity_study
from nf2vec_core.config import load_section
from nf2vec_core.fitting.run import NFParams
from nf2vec_core.store.io import write_json
from nf2vec_core.store.prepared import PreparedData
from nf2vec_core.viz.plots import plot_curves, plot_matrices


def main() -> None:
    ap = parser(__doc__)
    args = ap.parse_args()
    p = params(args)
    cfg = load_section(p, "arena.connectivity", ConnectivityParams)
    nf = load_section(p, f"arena.nfs.{cfg.nf}", NFParams)
    data = PreparedData(PATHS.arena_prepared(cfg.dataset))
    test = data.index.index[data.index["split"] == "test"].to_numpy()[: cfg.signals]
    images = torch.stack([data.tensor("images", int(i), int(i) + 1)[0, ..., 0] for i in test])
    spec = nf.spec(2, 1)
    metrics, arrays = connectivity_study(spec, images, cfg)
    metrics["signal_ids"] = data.index["id"].iloc[test].tolist()
    write_json(PATHS.metrics("arena_connectivity"), metrics)
    plot_curves(arrays["curves"], PATHS.plots_dir("arena") / "mode_connectivity.png", xlabel="alpha (0 = fit A, 1 = fit B)",
                ylabel="MSE on the signal", logy=True,
                title=f"Linear mode connectivity, {cfg.dataset} (mean over {cfg.signals} signals)")
    plot_matrices(arrays["matrices"], PATHS.plots_dir("arena") / "repeatability.png", colorbar_label="L2 distance",
                  title=f"Distances between {cfg.replicas} fits of each of {cfg.signals} signals")
    print(metrics)


if __name__ == "__main__":
    run(main)

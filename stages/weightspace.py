"""Classify NFs from their raw weights (Papa et al. 2024 §4): the graph meta-network and a flat-weights
MLP, on the same splits as nf2vec and once per seed of ``<section>.seeds`` (mean ± std); plus the
k-means NMI of the weights and parameter-distance summary."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch
from _common import PATHS, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.store.io import write_csv
from nf2vec_core.store.neural_dataset import NeuralDataset, load_views
from nf2vec_core.tasks.classification import ClassifierConfig
from nf2vec_core.store.results import write_results
from nf2vec_core.viz.plots import plot_confusion
from nf2vec_core.weightspace.benchmark import classify_over_seeds, weight_splits
from nf2vec_core.weightspace.distances import distance_summary, pairwise_distance_values, weights_kmeans_nmi
from nf2vec_core.weightspace.params import WeightspaceParams


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True, help="name of the run: data/neural/<dataset>, metrics/*_<dataset>")
    ap.add_argument("--section", default="weightspace", help="params section (e.g. arena.classify)")
    ap.add_argument("--neural", default=None, help="neural dataset dir (default: data/neural/<dataset>)")
    ap.add_argument("--prepared", default=None, help="prepared dataset dir (default: data/prepared/<dataset>)")
    ap.add_argument("--views", default=None, help="other fits of the same items (data/neural_views/<dataset>): "
                    "with classifier.views their train/val NFs train and select too, as for the nf2vec classifier")
    ap.add_argument("--models", default=None, help="comma-separated override of <section>.models")
    ap.add_argument("--metrics-dir", default=str(PATHS.metrics_dir()), help="metrics/...; timings go to timings/...")
    ap.add_argument("--plots-dir", default=str(PATHS.plots_dir()))
    args = ap.parse_args()
    p = params(args)
    cfg = load_section(p, args.section, WeightspaceParams)
    if args.models:
        cfg = replace(cfg, models=tuple(m.strip() for m in args.models.split(",") if m.strip()))
    metrics_dir, plots_dir = Path(args.metrics_dir), Path(args.plots_dir)
    neural = NeuralDataset(Path(args.neural or PATHS.neural(args.dataset)))
    prepared = Path(args.prepared or PATHS.prepared(args.dataset))
    classes = json.loads((prepared / "meta.json").read_text())["classes"]
    views = load_views(Path(args.views)) if args.views and load_section(p, "classifier", ClassifierConfig).views else []
    data = weight_splits(neural, views)     # with classifier.views: the items the nf2vec classifier trains on
    out: dict = {"n_train": len(data["train"][1]), "n_val": len(data["val"][1]), "n_test": len(data["test"][1]),
                 "weights_kmeans_nmi": weights_kmeans_nmi(data["test"][0], data["test"][1].numpy(),
                                                          spec=neural.spec, n_clusters=len(classes), standardize=True),
                 "param_distance": distance_summary(pairwise_distance_values(neural.params(), spec=neural.spec))}
    for kind in cfg.models:
        rec, first = classify_over_seeds(kind, neural.spec, data, cfg, classes)   # first: the first seed's run
        out[kind] = rec
        out[f"{kind}_accuracy"], out[f"{kind}_accuracy_std"] = rec["accuracy"], rec["accuracy_std"]
        write_csv(plots_dir / f"weightspace_{kind}_{args.dataset}.csv",
                  pd.DataFrame(first.history).reset_index(names="epoch"))
        plot_confusion(first.confusion, classes, plots_dir / f"confusion_{kind}_{args.dataset}.png",
                       title=f"{kind} on raw weights ({args.dataset}, seed {rec['seeds'][0]}, "
                             f"test acc {first.accuracy:.3f})")
        print(f"{kind}: test accuracy {rec['accuracy']:.4f} ± {rec['accuracy_std']:.4f} over seeds {rec['seeds']}")
    out["seeds"] = list(cfg.run_seeds)
    write_results(metrics_dir / f"weightspace_{args.dataset}.json", out)   # train_seconds: timings/


if __name__ == "__main__":
    run(main)

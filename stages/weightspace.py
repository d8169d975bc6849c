"""Classify NFs from their raw weights (paper 004 §4): the graph meta-network and a flat-weights MLP,
on the same splits as nf2vec; plus the k-means NMI of the weights and parameter-distance summary."""
from __future__ import annotations

import json

import pandas as pd
import torch
from _common import ROOT, parser, params, run

from nf2vec_core.config import load_section
from nf2vec_core.store.io import write_csv, write_json
from nf2vec_core.store.neural_dataset import NeuralDataset
from nf2vec_core.viz.figures import plot_confusion
from nf2vec_core.weightspace.distances import distance_summary, pairwise_distance_values, weights_kmeans_nmi
from nf2vec_core.weightspace.params import WeightspaceParams
from nf2vec_core.weightspace.train import build_classifier, fit_and_evaluate


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    args = ap.parse_args()
    cfg = load_section(params(args), "weightspace", WeightspaceParams)
    neural = NeuralDataset(ROOT / "data" / "neural" / args.dataset)
    classes = json.loads((ROOT / "data" / "prepared" / args.dataset / "meta.json").read_text())["classes"]
    theta = neural.params()
    labels = torch.as_tensor(neural.index["class_id"].to_numpy())
    splits = {s: torch.as_tensor(neural.split_rows(s), dtype=torch.long) for s in ("train", "val", "test")}
    data = {s: (theta[r], labels[r]) for s, r in splits.items()}
    out: dict = {"n_train": len(splits["train"]), "n_test": len(splits["test"]),
                 "weights_kmeans_nmi": weights_kmeans_nmi(theta[splits["test"]], labels[splits["test"]].numpy(),
                                                          spec=neural.spec, n_clusters=len(classes), standardize=True),
                 "param_distance": distance_summary(pairwise_distance_values(theta, spec=neural.spec))}
    for kind in cfg.models:
        model = build_classifier(kind, neural.spec, len(classes), gnn=cfg.gnn, mlp=cfg.mlp, seed=cfg.train.seed)
        res = fit_and_evaluate(model, data["train"], data["val"], data["test"], cfg.train, class_names=classes)
        out[kind] = res.metrics()
        out[f"{kind}_accuracy"] = float(res.accuracy)
        write_csv(ROOT / "plots" / f"weightspace_{kind}_{args.dataset}.csv",
                  pd.DataFrame(res.history).reset_index(names="epoch"))
        plot_confusion(res.confusion, classes, ROOT / "plots" / f"confusion_{kind}_{args.dataset}.png",
                       title=f"{kind} on raw weights ({args.dataset}, test acc {res.accuracy:.3f})")
        print(f"{kind}: test accuracy {res.accuracy:.4f}")
    write_json(ROOT / "metrics" / f"weightspace_{args.dataset}.json", out)


if __name__ == "__main__":
    run(main)

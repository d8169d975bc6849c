"""Classify NFs from their embeddings (MLP + E-Stitchup, one-cycle); accuracy and confusion matrix."""
from __future__ import annotations

import json

import pandas as pd
from _common import ROOT, parser, params, run

from nf2vec_core.config import load_section
from nf2vec_core.store.embeddings import read_embeddings, split_arrays, view_arrays
from nf2vec_core.store.io import write_csv, write_json
from nf2vec_core.tasks.classification import (ClassifierConfig, evaluate_classifier, save_classifier, train_classifier,
                                             with_views)
from nf2vec_core.viz.figures import plot_confusion


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    args = ap.parse_args()
    cfg = load_section(params(args), "classifier", ClassifierConfig)
    emb, index = read_embeddings(ROOT / "data" / "embeddings" / args.dataset)
    classes = json.loads((ROOT / "data" / "prepared" / args.dataset / "meta.json").read_text())["classes"]
    (tx, ty), (vx, vy), (sx, sy) = (split_arrays(emb, index, s) for s in ("train", "val", "test"))
    if cfg.views:  # other fits of the training and validation items (the views stage), as more samples
        views = ROOT / "data" / "embeddings" / args.dataset / "views"
        tx, ty = with_views(tx, ty, *view_arrays(views, "train"))
        vx, vy = with_views(vx, vy, *view_arrays(views, "val"))
    model, history = train_classifier(tx, ty, vx, vy, cfg, num_classes=len(classes))
    res = evaluate_classifier(model, sx, sy, len(classes), class_names=classes)
    save_classifier(ROOT / "models" / args.dataset / "classifier.safetensors", model, cfg, classes)
    write_csv(ROOT / "plots" / f"classify_{args.dataset}.csv", pd.DataFrame(history).reset_index(names="epoch"))
    plot_confusion(res["confusion"], classes, ROOT / "plots" / f"confusion_{args.dataset}.png",
                   title=f"nf2vec classification ({args.dataset}, test acc {res['accuracy']:.3f})")
    write_json(ROOT / "metrics" / f"classify_{args.dataset}.json",
               {"accuracy": float(res["accuracy"]), "per_class_accuracy": res["per_class_accuracy"],
                "n_train": int(len(ty)), "n_test": int(len(sy))})
    print(f"test accuracy {res['accuracy']:.4f}")


if __name__ == "__main__":
    run(main)

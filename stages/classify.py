"""Classify NFs from their embeddings (MLP + E-Stitchup, one-cycle): test accuracy as mean ± std over
the seeds of ``evaluation.seeds``; the first seed's classifier, curves and confusion matrix are kept."""
from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
from _common import PATHS, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.store.embeddings import read_embeddings, split_arrays, view_arrays
from nf2vec_core.store.io import write_csv, write_json
from nf2vec_core.tasks.classification import (ClassifierConfig, evaluate_classifier, save_classifier, train_classifier,
                                              with_views)
from nf2vec_core.tasks.seeds import EvaluationParams, mean_of_dicts, mean_std, over_seeds
from nf2vec_core.viz.plots import plot_confusion


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    args = ap.parse_args()
    p = params(args)
    cfg = load_section(p, "classifier", ClassifierConfig)
    evaluation = load_section(p, "evaluation", EvaluationParams)
    emb, index = read_embeddings(PATHS.embeddings(args.dataset))
    classes = json.loads((PATHS.prepared(args.dataset) / "meta.json").read_text())["classes"]
    (tx, ty), (vx, vy), (sx, sy) = (split_arrays(emb, index, s) for s in ("train", "val", "test"))
    if cfg.views:  # other fits of the training and validation items (the views stage), as more samples
        views = PATHS.embeddings(args.dataset) / "views"
        tx, ty = with_views(tx, ty, *view_arrays(views, "train"))
        vx, vy = with_views(vx, vy, *view_arrays(views, "val"))
    def one_seed(seed: int) -> dict:
        model, history = train_classifier(tx, ty, vx, vy, replace(cfg, seed=seed), num_classes=len(classes))
        return {"model": model, "history": history, **evaluate_classifier(model, sx, sy, len(classes), class_names=classes)}

    runs = over_seeds(one_seed, evaluation.seeds)       # the first seed's classifier is the one kept
    first = runs[0]
    acc = mean_std([r["accuracy"] for r in runs])
    save_classifier(PATHS.classifier(args.dataset), first["model"],
                    replace(cfg, seed=evaluation.seeds[0]), classes)
    write_csv(PATHS.plot("classify", args.dataset, "csv"), pd.DataFrame(first["history"]).reset_index(names="epoch"))
    plot_confusion(first["confusion"], classes, PATHS.plot("confusion", args.dataset),
                   title=f"nf2vec classification ({args.dataset}, seed {evaluation.seeds[0]}, "
                         f"test acc {first['accuracy']:.3f})")
    write_json(PATHS.metrics("classify", args.dataset),
               {"accuracy": acc["mean"], "accuracy_std": acc["std"], "accuracy_per_seed": acc["values"],
                "seeds": list(evaluation.seeds),
                "per_class_accuracy": mean_of_dicts([r["per_class_accuracy"] for r in runs]),
                "n_train": int(len(ty)), "n_test": int(len(sy))})
    print(f"test accuracy {acc['mean']:.4f} ± {acc['std']:.4f} over seeds {list(evaluation.seeds)}")


if __name__ == "__main__":
    run(main)

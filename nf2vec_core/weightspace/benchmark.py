"""A raw-weight classifier trained as the headline classifier is: once per seed (initialisation
and batch order), each seed selected on the validation split and scored once on the test split;
the record carries the mean ± std over the seeds and each seed's value."""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Sequence

import torch

from ..errors import BadInputError
from ..nf.layout import ArchSpec
from ..store.neural_dataset import NeuralDataset
from ..tasks.seeds import mean_of_dicts, mean_std, over_seeds
from .params import WeightspaceParams
from .train import ClassificationRun, build_classifier, fit_and_evaluate

Split = tuple[torch.Tensor, torch.Tensor]
SPLITS = ("train", "val", "test")


def weight_splits(neural: NeuralDataset, views: Sequence[NeuralDataset] = ()) -> dict[str, Split]:
    """``{split: (theta [N, P], class ids [N])}`` of a neural dataset; the train and validation splits
    also hold the NFs of ``views`` (other fits of the same items, as the nf2vec classifier's
    ``classifier.views`` uses them), after the dataset's own. The test split is the dataset's only."""
    theta, labels = neural.params(), torch.as_tensor(neural.index["class_id"].to_numpy())
    out = {}
    for s in SPLITS:
        rows = torch.as_tensor(neural.split_rows(s), dtype=torch.long)
        x, y = [theta[rows]], [labels[rows]]
        for v in views if s != "test" else ():
            if v.spec != neural.spec:
                raise BadInputError(v.root, f"view NFs are {v.spec}, the dataset's {neural.spec}")
            r = v.split_rows(s)
            x.append(v.params(r))
            y.append(torch.as_tensor(v.index["class_id"].to_numpy()[r]))
        out[s] = (torch.cat(x), torch.cat(y).long())
    return out


def classify_over_seeds(kind: str, spec: ArchSpec, data: dict[str, Split], cfg: WeightspaceParams,
                        class_names: Sequence[str], device: str | torch.device | None = None,
                        progress: bool = True) -> tuple[dict[str, Any], ClassificationRun]:
    """Train classifier ``kind`` on ``data["train"]`` once per seed of ``cfg.run_seeds``.

    ``data[s] = (theta [N_s, P], labels [N_s])`` for train/val/test. Returns the record
    (``accuracy`` mean, ``accuracy_std``, ``accuracy_per_seed``, ``seeds``, seed-mean
    ``per_class_accuracy`` and ``best_val_accuracy``, ``best_epoch_per_seed``, ``train_seconds``
    summed) and the first seed's run (its model, curves and confusion matrix).
    """
    def one_seed(seed: int) -> dict[str, Any]:
        model = build_classifier(kind, spec, len(class_names), gnn=cfg.gnn, mlp=cfg.mlp, seed=seed)
        t0 = time.perf_counter()
        res = fit_and_evaluate(model, data["train"], data["val"], data["test"], replace(cfg.train, seed=seed),
                               class_names=class_names, device=device, progress=progress)
        return {"run": res, "seconds": time.perf_counter() - t0}

    seeds = cfg.run_seeds
    runs = over_seeds(one_seed, seeds)
    acc = mean_std([r["run"].accuracy for r in runs])
    record = {"accuracy": acc["mean"], "accuracy_std": acc["std"], "accuracy_per_seed": acc["values"],
              "seeds": list(seeds),
              "per_class_accuracy": mean_of_dicts([r["run"].per_class_accuracy for r in runs]),
              "best_val_accuracy": mean_std([r["run"].best_val_accuracy for r in runs])["mean"],
              "best_epoch_per_seed": [int(r["run"].best_epoch) for r in runs],
              "train_seconds": round(sum(r["seconds"] for r in runs), 1)}
    return record, runs[0]["run"]


__all__ = ["classify_over_seeds", "weight_splits"]

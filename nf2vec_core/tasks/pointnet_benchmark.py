"""The PointNet classification baseline of a dataset (Zama Ramirez et al., Table III), trained as
the headline classifier is: once per seed of ``evaluation.seeds`` on the same training items,
each seed's epoch chosen on the validation split (highest accuracy), then scored once on the test
split. The record carries the mean ± std over the seeds, each seed's value and selected epoch, and
the validation accuracy of every epoch, so that the epoch budget can be judged on validation data
(``history``: the seed-mean training loss, validation loss and accuracy per epoch, for a plot).
"""
from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any, Sequence

import numpy as np
import torch

from .pointnet import PointNetConfig, evaluate_pointnet, train_pointnet
from .seeds import mean_of_dicts, mean_std, over_seeds


def pointnet_benchmark(points: dict[str, torch.Tensor], labels: dict[str, torch.Tensor], cfg: PointNetConfig,
                       seeds: Sequence[int], class_names: Sequence[str], device: str | torch.device | None = None,
                       progress: bool = True) -> dict[str, Any]:
    """Train PointNet on ``points["train"]`` once per seed, select on ``"val"``, score on ``"test"``.

    ``points[s]`` is ``[N_s, P, 3]`` and ``labels[s]`` ``[N_s]`` for ``s`` in train/val/test. Returns
    ``pointnet_accuracy`` (mean over seeds), ``pointnet_accuracy_std``, ``pointnet_accuracy_per_seed``,
    ``seeds``, ``best_epoch_per_seed`` (0-based), ``val_accuracy_per_epoch`` (the seed-mean curve),
    ``history`` (seed-mean ``train_loss``, ``val_loss``, ``val_accuracy`` per epoch),
    ``per_class_accuracy`` (seed mean) and the split sizes. Warns when a seed's best epoch is the
    last one: the budget may be too short.
    """
    c = len(class_names)

    def one_seed(seed: int) -> dict[str, Any]:
        model, history = train_pointnet(points["train"], labels["train"], points["val"], labels["val"],
                                        replace(cfg, seed=int(seed)), num_classes=c, device=device,
                                        progress=progress)
        res = evaluate_pointnet(model, points["test"], labels["test"], c, class_names=class_names)
        return {"accuracy": float(res["accuracy"]), "per_class_accuracy": res["per_class_accuracy"],
                "best_epoch": int(np.argmax(history["val_accuracy"])), "history": history}

    runs = over_seeds(one_seed, seeds)
    acc = mean_std([r["accuracy"] for r in runs])
    best = [r["best_epoch"] for r in runs]
    curves = {k: [float(v) for v in np.mean([r["history"][k] for r in runs], axis=0)]
              for k in ("train_loss", "val_loss", "val_accuracy")}
    if any(b == cfg.epochs - 1 for b in best):
        warnings.warn(f"pointnet: the last epoch ({cfg.epochs}) had the best validation accuracy for "
                      f"seed(s) {[s for s, b in zip(seeds, best) if b == cfg.epochs - 1]}; "
                      "pointnet.epochs may be too short", stacklevel=2)
    return {"pointnet_accuracy": acc["mean"], "pointnet_accuracy_std": acc["std"],
            "pointnet_accuracy_per_seed": acc["values"], "seeds": [int(s) for s in seeds],
            "best_epoch_per_seed": best,
            "val_accuracy_per_epoch": curves["val_accuracy"], "history": curves,
            "per_class_accuracy": mean_of_dicts([r["per_class_accuracy"] for r in runs]),
            "n_train": int(len(labels["train"])), "n_val": int(len(labels["val"])),
            "n_test": int(len(labels["test"]))}


__all__ = ["pointnet_benchmark"]

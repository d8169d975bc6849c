"""The part-segmentation benchmark of a dataset (Zama Ramirez et al., Table IV): the part decoder on
frozen nf2vec embeddings and the PointNet segmentation baseline, trained on the same points, splits
and epochs, once per seed; each model is selected on the validation split by its own rule and scored
once on the test split. Scores are reported as mean ± std over the seeds, with a per-category
table of the per-seed means.

A control tells what the embedding adds: ``class_prior`` is the same part decoder, trained and
scored the same way, with every embedding replaced by zeros, so that it sees only the query point
and the category (the part layout a category has on average). The gap between ``nf2vec`` and
``class_prior`` is the shape-specific information the decoder reads from the embeddings.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..data.parts import PartTaxonomy
from .part_data import PartSegParams, scores_record
from .pointnet_seg import train_pointnet_seg
from .seeds import mean_of_dicts, mean_std, over_seeds
from .segmentation import PartSplit, evaluate_segmenter, train_part_decoder

#: the benchmark's models, in report order: ``nf2vec`` (part decoder on embeddings), ``pointnet`` and
#: ``class_prior`` (the part decoder on zero embeddings: point and category only)
MODELS = ("nf2vec", "pointnet", "class_prior")


def without_embeddings(split: PartSplit) -> PartSplit:
    """``split`` with its embeddings replaced by zeros of the same shape."""
    return PartSplit(split.points, split.labels, split.class_ids, torch.zeros_like(split.embeddings))


def _train(name: str, splits: dict[str, PartSplit], taxonomy: PartTaxonomy, p: PartSegParams, seed: int,
           device, progress: bool) -> tuple[nn.Module, dict[str, list[float]]]:
    if name in ("nf2vec", "class_prior"):
        return train_part_decoder(splits["train"], splits["val"], taxonomy, replace(p.decoder, seed=seed),
                                  device, progress)
    return train_pointnet_seg(splits["train"], splits["val"], taxonomy, replace(p.pointnet, seed=seed),
                              device, progress)


def run_seed(splits: dict[str, PartSplit], taxonomy: PartTaxonomy, p: PartSegParams, seed: int,
             device=None, progress: bool = True) -> dict[str, dict[str, Any]]:
    """Both models trained with ``seed`` and scored on ``splits["test"]``: ``{model: {"model",
    "history", "scores" (evaluate_segmenter's), "train_seconds"}}``."""
    out = {}
    for name in MODELS:
        data = splits if name != "class_prior" else {k: without_embeddings(v) for k, v in splits.items()}
        t0 = time.perf_counter()
        model, history = _train(name, data, taxonomy, p, seed, device, progress)
        seconds = time.perf_counter() - t0
        out[name] = {"model": model, "history": history, "train_seconds": seconds,
                     "scores": evaluate_segmenter(model, data["test"], taxonomy)}
    return out


def run_benchmark(splits: dict[str, PartSplit], taxonomy: PartTaxonomy, p: PartSegParams, seeds: Sequence[int],
                  device=None, progress: bool = True) -> list[dict[str, dict[str, Any]]]:
    """:func:`run_seed` for every seed, in order (the first seed's models are the ones kept)."""
    return over_seeds(lambda s: run_seed(splits, taxonomy, p, s, device, progress), seeds)


def benchmark_record(runs: Sequence[dict[str, dict[str, Any]]], seeds: Sequence[int],
                     p: PartSegParams) -> dict[str, Any]:
    """The JSON record of :func:`run_benchmark`: per model the instance/class mIoU and point
    accuracy as mean ± std over the seeds (``*_std``, ``*_per_seed``), the per-category mIoU
    averaged over the seeds, the validation-selected epoch of each seed, and the training seconds."""
    rec: dict[str, Any] = {"seeds": [int(s) for s in seeds]}
    for name in MODELS:
        per_seed = [scores_record(r[name]["scores"]) for r in runs]
        m: dict[str, Any] = {}
        for key in ("instance_miou", "class_miou", "accuracy"):
            ms = mean_std([s[key] for s in per_seed])
            m.update({key: ms["mean"], f"{key}_std": ms["std"], f"{key}_per_seed": ms["values"]})
        m["per_category"] = mean_of_dicts([s["per_category"] for s in per_seed])
        m["shapes"] = per_seed[0]["shapes"]
        rule = (p.pointnet if name == "pointnet" else p.decoder).select
        m["selected_epoch_per_seed"] = [selected_epoch(r[name]["history"], rule) for r in runs]
        m["train_seconds"] = float(np.sum([r[name]["train_seconds"] for r in runs]))
        rec[name] = m
    return rec


def selected_epoch(history: dict[str, list[float]], select: str) -> int:
    """The epoch (0-based) whose weights the training kept under the rule ``select``
    (:data:`~nf2vec_core.tasks.segmentation.SEG_SELECT_RULES`): the first best on validation, or the last."""
    if select == "last":
        return len(history["train_loss"]) - 1
    return int(np.argmax(history[select]))


def per_category_frame(record: dict[str, Any]) -> pd.DataFrame:
    """``category, <model>_miou...`` rows from :func:`benchmark_record`, then ``class mIoU`` and
    ``instance mIoU``."""
    cats = list(record[MODELS[0]]["per_category"])
    rows = [{"category": c, **{f"{m}_miou": record[m]["per_category"][c] for m in MODELS}} for c in cats]
    rows += [{"category": label, **{f"{m}_miou": record[m][key] for m in MODELS}}
             for label, key in (("class mIoU", "class_miou"), ("instance mIoU", "instance_miou"))]
    return pd.DataFrame(rows, columns=["category"] + [f"{m}_miou" for m in MODELS])


__all__ = ["MODELS", "without_embeddings", "run_seed", "run_benchmark", "benchmark_record", "selected_epoch", "per_category_frame"]

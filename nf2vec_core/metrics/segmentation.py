"""Part-segmentation scores as the ShapeNet-Part benchmark computes them (PointNet / PointNet++
evaluation code; paper 000 Table IV).

For one shape of category ``c`` with ground truth ``g`` and prediction ``p`` (part ids per point),
and each part ``l`` of ``c``: ``IoU_l = |g = l and p = l| / |g = l or p = l|``, and ``IoU_l = 1``
when the part is absent from both. The shape's IoU is the mean over the parts of ``c`` (only
those: a point predicted as a part of another category counts against the true part's IoU and
nowhere else).

* **instance mIoU** -- mean of the shape IoUs over all shapes;
* **class mIoU** -- mean over categories (those with at least one shape) of the mean shape IoU
  within the category.

Part ids are *global* (``nf2vec_core.data.parts``): ``category_parts`` maps each category name to
its part ids.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from ..errors import BadInputError

ArrayLike = np.ndarray | torch.Tensor


def _as_int(a: ArrayLike) -> np.ndarray:
    return np.asarray(a.detach().cpu() if isinstance(a, torch.Tensor) else a).astype(np.int64)


def _flatten(shapes: ArrayLike | Sequence[ArrayLike], name: str) -> tuple[np.ndarray, np.ndarray]:
    """Labels of all shapes (``[N, P]`` or a list of ``[P_i]``) concatenated, and each point's shape."""
    if isinstance(shapes, (np.ndarray, torch.Tensor)) and np.ndim(shapes) == 2:
        arr = _as_int(shapes)
        return arr.reshape(-1), np.repeat(np.arange(arr.shape[0]), arr.shape[1])
    rows = [_as_int(s).reshape(-1) for s in shapes]
    if not rows:
        raise BadInputError(None, f"{name}: no shapes")
    return np.concatenate(rows), np.repeat(np.arange(len(rows)), [len(r) for r in rows])


def shape_part_ious(pred: ArrayLike | Sequence[ArrayLike], gt: ArrayLike | Sequence[ArrayLike],
                    shape_categories: Sequence[str], category_parts: Mapping[str, Sequence[int]]) -> np.ndarray:
    """Per-shape IoU float64 ``[N]``: the mean over the parts of the shape's category (module doc).

    ``pred``/``gt``: part ids per point, ``[N, P]`` or ``N`` arrays of ``P_i`` points (same lengths).
    """
    p, owner = _flatten(pred, "pred")
    g, owner_g = _flatten(gt, "gt")
    n = len(shape_categories)
    if p.shape != g.shape or not np.array_equal(owner, owner_g):
        raise BadInputError(None, f"part IoU: predictions and ground truth differ in shape "
                                  f"({p.size} vs {g.size} points)")
    if owner.size == 0 or owner[-1] + 1 != n:
        raise BadInputError(None, f"part IoU: {int(owner[-1]) + 1 if owner.size else 0} shapes of points "
                                  f"vs {n} categories")
    missing = sorted(set(shape_categories) - set(category_parts))
    if missing:
        raise BadInputError(None, f"part IoU: categories {missing} have no part list")
    if min(p.min(), g.min()) < 0:
        raise BadInputError(None, "part IoU: negative part id")
    k = int(max(p.max(), g.max(), max(max(v) for v in category_parts.values()))) + 1
    inter = np.bincount(owner[p == g] * k + g[p == g], minlength=n * k).reshape(n, k)
    union = (np.bincount(owner * k + g, minlength=n * k) + np.bincount(owner * k + p, minlength=n * k)
             ).reshape(n, k) - inter
    iou = np.where(union > 0, inter / np.maximum(union, 1), 1.0)
    mask = np.zeros((n, k), dtype=bool)
    for i, cat in enumerate(shape_categories):
        mask[i, list(category_parts[cat])] = True
    return (iou * mask).sum(axis=1) / mask.sum(axis=1)


def part_segmentation_scores(pred: ArrayLike | Sequence[ArrayLike], gt: ArrayLike | Sequence[ArrayLike],
                             shape_categories: Sequence[str],
                             category_parts: Mapping[str, Sequence[int]]) -> dict[str, Any]:
    """Benchmark scores of a split.

    Returns ``dict(instance_miou, class_miou, accuracy (of all points), per_category {name:
    {"miou": mean shape IoU or None, "shapes": count}} for every category of ``category_parts``
    (in its order), shape_ious float64 [N])``; ``None`` (``null`` in JSON) marks a category without shapes.
    """
    ious = shape_part_ious(pred, gt, shape_categories, category_parts)
    cats = np.asarray(list(shape_categories), dtype=object)
    per_category: dict[str, dict[str, Any]] = {}
    for cat in category_parts:
        sel = cats == cat
        per_category[cat] = {"miou": float(ious[sel].mean()) if sel.any() else None, "shapes": int(sel.sum())}
    present = [v["miou"] for v in per_category.values() if v["miou"] is not None]
    p, _ = _flatten(pred, "pred")
    g, _ = _flatten(gt, "gt")
    return {"instance_miou": float(ious.mean()), "class_miou": float(np.mean(present)),
            "accuracy": float((p == g).mean()), "per_category": per_category, "shape_ious": ious}


def per_category_table(scores: Mapping[str, Any]) -> pd.DataFrame:
    """The per-category rows of :func:`part_segmentation_scores` (``category, shapes, miou``), then
    the rows ``class mIoU`` and ``instance mIoU`` (shapes = all shapes)."""
    rows = [{"category": c, "shapes": v["shapes"], "miou": v["miou"]} for c, v in scores["per_category"].items()]
    total = sum(v["shapes"] for v in scores["per_category"].values())
    rows += [{"category": "class mIoU", "shapes": total, "miou": scores["class_miou"]},
             {"category": "instance mIoU", "shapes": total, "miou": scores["instance_miou"]}]
    return pd.DataFrame(rows, columns=["category", "shapes", "miou"])


__all__ = ["shape_part_ious", "part_segmentation_scores", "per_category_table"]

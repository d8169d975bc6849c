"""Part-segmentation scores: known answers and agreement with the benchmark's loop."""
from __future__ import annotations

import numpy as np
import pytest

from nf2vec_core.errors import BadInputError
from nf2vec_core.metrics.segmentation import part_segmentation_scores, per_category_table, shape_part_ious

PARTS = {"A": [0, 1], "B": [2, 3, 4]}


def _benchmark_loop(pred, gt, cats, parts):
    """The per-shape IoU exactly as the PointNet++ evaluation code writes it."""
    out = []
    for segp, segl, cat in zip(pred, gt, cats):
        ious = []
        for l in parts[cat]:
            if np.sum(segl == l) == 0 and np.sum(segp == l) == 0:
                ious.append(1.0)
            else:
                ious.append(np.sum((segl == l) & (segp == l)) / float(np.sum((segl == l) | (segp == l))))
        out.append(np.mean(ious))
    return np.array(out)


def test_one_shape_known_answer():
    # part 0: inter 1, union 2 -> 1/2; part 1: inter 2, union 3 -> 2/3
    iou = shape_part_ious(np.array([[0, 1, 1, 1]]), np.array([[0, 0, 1, 1]]), ["A"], PARTS)
    assert iou == pytest.approx([7 / 12])


def test_part_absent_from_both_counts_one_and_other_category_parts_count_against():
    # B has parts 2, 3, 4; only 2 and 3 occur and are right -> (1 + 1 + 1) / 3
    assert shape_part_ious([[2, 2, 3]], [[2, 2, 3]], ["B"], PARTS) == pytest.approx([1.0])
    # a point predicted as A's part 0 on a B shape: part 2 gets 1/2, parts 3, 4 stay 1
    assert shape_part_ious([[0, 2, 3]], [[2, 2, 3]], ["B"], PARTS) == pytest.approx([(0.5 + 1 + 1) / 3])
    # a part predicted but absent from the truth: IoU 0 for it
    assert shape_part_ious([[4, 4]], [[2, 2]], ["B"], PARTS) == pytest.approx([(0 + 1 + 0) / 3])


def test_instance_and_class_miou_known_answer():
    pred = [np.array([0, 1]), np.array([0, 0, 0]), np.array([2, 2])]
    gt = [np.array([0, 1]), np.array([0, 0, 1]), np.array([3, 3])]
    s = part_segmentation_scores(pred, gt, ["A", "A", "B"], PARTS)
    # shape IoUs: 1; (2/3 + 0)/2 = 1/3; (0 + 0 + 1)/3 = 1/3
    assert s["shape_ious"] == pytest.approx([1, 1 / 3, 1 / 3])
    assert s["instance_miou"] == pytest.approx(5 / 9)
    assert s["class_miou"] == pytest.approx(((1 + 1 / 3) / 2 + 1 / 3) / 2)
    assert s["accuracy"] == pytest.approx(4 / 7)
    assert s["per_category"] == {"A": {"miou": pytest.approx(2 / 3), "shapes": 2},
                                 "B": {"miou": pytest.approx(1 / 3), "shapes": 1}}


def test_category_without_shapes_is_left_out_of_class_miou():
    s = part_segmentation_scores([[0, 1]], [[0, 1]], ["A"], {**PARTS, "C": [5]})
    assert s["per_category"]["C"] == {"miou": None, "shapes": 0}
    assert s["class_miou"] == 1.0
    table = per_category_table(s)
    assert list(table["category"]) == ["A", "B", "C", "class mIoU", "instance mIoU"]
    assert table["shapes"].tolist() == [1, 0, 0, 1, 1]


def test_agrees_with_the_benchmark_loop_on_random_labels():
    rng = np.random.default_rng(0)
    cats = list(rng.choice(["A", "B"], 50))
    gt = [rng.choice(PARTS[c], rng.integers(5, 40)) for c in cats]
    pred = [np.where(rng.random(len(g)) < 0.6, g, rng.integers(0, 5, len(g))) for g in gt]
    assert shape_part_ious(pred, gt, cats, PARTS) == pytest.approx(_benchmark_loop(pred, gt, cats, PARTS))
    fixed_gt = np.stack([rng.choice(PARTS[c], 16) for c in cats])
    fixed_pred = rng.integers(0, 5, fixed_gt.shape)
    assert shape_part_ious(fixed_pred, fixed_gt, cats, PARTS) == pytest.approx(
        _benchmark_loop(fixed_pred, fixed_gt, cats, PARTS))


def test_bad_inputs():
    with pytest.raises(BadInputError, match="differ in shape"):
        shape_part_ious([[0, 1]], [[0, 1, 1]], ["A"], PARTS)
    with pytest.raises(BadInputError, match="2 shapes of points vs 1 categories"):
        shape_part_ious([[0], [1]], [[0], [1]], ["A"], PARTS)
    with pytest.raises(BadInputError, match=r"categories \['Z'\] have no part list"):
        shape_part_ious([[0]], [[0]], ["Z"], PARTS)

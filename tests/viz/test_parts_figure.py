"""The part-segmentation figure: a deterministic PNG, bad inputs refused before anything is written."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nf2vec_core.errors import BadInputError
from nf2vec_core.viz.parts import plot_part_segmentation

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_part_segmentation_figure(tmp_path: Path):
    rng = np.random.default_rng(0)
    pts = [rng.uniform(-1, 1, size=(300, 3)), rng.uniform(-1, 1, size=(5000, 3)), np.zeros((0, 3))]
    truth = [(p[:, 0] > 0).astype(int) for p in pts]
    pred = [truth[0], 1 - truth[1], truth[2]]
    out = plot_part_segmentation(pts, pred, truth, ["chair", "mug", "empty"], tmp_path / "seg" / "parts.png",
                                 max_points=1000)
    assert out.stat().st_size > 1000 and out.read_bytes()[:8] == PNG_MAGIC
    assert not [q for q in out.parent.iterdir() if q.name.endswith(".tmp")]
    again = plot_part_segmentation(pts, pred, truth, ["chair", "mug", "empty"], tmp_path / "again.png",
                                   max_points=1000)
    assert again.read_bytes() == out.read_bytes()


def test_bad_inputs(tmp_path: Path):
    pts = [np.zeros((300, 3)), np.zeros((10, 3))]
    lab = [np.zeros(300, int), np.zeros(10, int)]
    with pytest.raises(BadInputError, match="2 clouds, 1 predictions"):
        plot_part_segmentation(pts, lab[:1], lab, ["a", "b"], tmp_path / "bad.png")
    with pytest.raises(BadInputError, match="shape 0 has 300 points, 299 predicted"):
        plot_part_segmentation(pts, [lab[0][:-1], lab[1]], lab, ["a", "b"], tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()

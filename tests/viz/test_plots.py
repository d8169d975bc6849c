"""Every figure function writes a non-empty PNG atomically and rejects bad input."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nf2vec_core.errors import BadInputError
from nf2vec_core.viz import plots as F

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_png(p: Path) -> None:
    assert p.is_file() and p.stat().st_size > 1000
    assert p.read_bytes()[:8] == PNG_MAGIC
    assert not [q for q in p.parent.iterdir() if q.name.endswith(".tmp")]   # no temp leftovers


def test_all_figures_write_png(tmp_path: Path):
    rng = np.random.default_rng(0)
    names = ["a", "b", "c"]
    out = [
        F.plot_confusion(np.array([[5, 1, 0], [0, 4, 2], [1, 0, 6]]), names, tmp_path / "sub" / "conf.png", "t"),
        F.plot_tsne(rng.normal(size=(30, 2)), np.repeat([0, 1, 2], 10), names, tmp_path / "tsne.png"),
        F.plot_timing(pd.DataFrame({"method": ["nf2vec"] * 3 + ["pointnet"] * 3,
                                    "n_points": [2048, 4096, 8192] * 2,
                                    "latency_ms": [1.0, 1.1, 0.9, 2.0, 4.0, 8.0]}), tmp_path / "timing.png"),
        F.plot_point_clouds([rng.normal(size=(500, 3)), rng.uniform(size=(5000, 3)), np.zeros((0, 3))],
                            ["g", "u", "empty"], tmp_path / "clouds.png", ncols=2),
        F.plot_image_grid([rng.uniform(size=(16, 16)), rng.uniform(size=(16, 16, 3)),
                           (rng.uniform(size=(8, 8, 3)) * 255).astype(np.uint8)], ["g", "rgb", "u8"],
                          tmp_path / "images.png"),
        F.plot_histograms({"x": rng.normal(size=100), "y": rng.normal(1, 1, size=50)}, tmp_path / "hist.png",
                          xlabel="psnr"),
        F.plot_training_curves({"train_loss": [1.0, 0.5, 0.2], "val_accuracy": [0.2, 0.6, 0.9], "empty": []},
                               tmp_path / "curves.png"),
        F.plot_scatter_groups(pd.DataFrame({"nmi": [0.1, 0.5, 0.6, 0.2], "acc": [0.3, 0.9, 0.95, np.nan],
                                            "init": ["random", "shared", "shared", "random"],
                                            "dataset": ["a", "a", "b", "b"]}),
                              "nmi", "acc", tmp_path / "scatter.png", color="init", marker="dataset"),
        F.plot_curves({"same": ([0, 0.5, 1], [1e-3, 5e-3, 1e-3]), "diff": ([0, 0.5, 1], [1e-3, 0.1, 1e-3])},
                      tmp_path / "lmc.png", logy=True),
        F.plot_matrices({"a": rng.uniform(size=(6, 6)), "b": rng.uniform(size=(6, 6))}, tmp_path / "mats.png"),
    ]
    for p in out:
        assert_png(p)


def test_overwrite_and_bad_inputs(tmp_path: Path):
    p = tmp_path / "h.png"
    F.plot_histograms({"x": [1.0, 2.0, 3.0]}, p)
    F.plot_histograms({"x": [1.0, 2.0, 3.0, 4.0]}, p)
    assert_png(p)
    with pytest.raises(BadInputError):
        F.plot_confusion(np.zeros((2, 3)), ["a", "b"], tmp_path / "c.png")
    with pytest.raises(BadInputError):
        F.plot_timing(pd.DataFrame({"method": []}), tmp_path / "t.png")
    with pytest.raises(BadInputError):
        F.plot_point_clouds([np.zeros((3, 3))], ["a", "b"], tmp_path / "pc.png")
    with pytest.raises(BadInputError):
        F.plot_histograms({"x": [np.nan]}, tmp_path / "n.png")
    with pytest.raises(BadInputError):
        F.plot_image_grid([np.zeros((4, 4, 2))], ["bad"], tmp_path / "i.png")
    assert not (tmp_path / "i.png").exists()
    with pytest.raises(BadInputError, match="no rows"):
        F.plot_scatter_groups(pd.DataFrame({"x": [np.nan], "y": [1.0], "g": ["a"]}), "x", "y", tmp_path / "s.png",
                              color="g")
    with pytest.raises(BadInputError):
        F.plot_curves({}, tmp_path / "c.png")
    with pytest.raises(BadInputError):
        F.plot_matrices({}, tmp_path / "m.png")

"""The generation and completion figures: PNGs, the same bytes twice, bad inputs refused."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nf2vec_core.errors import BadInputError
from nf2vec_core.viz.completion import plot_completions
from nf2vec_core.viz.generation import plot_generated_shapes

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _clouds(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, size=(200, 3)) for _ in range(n)]


def test_generation_figure(tmp_path: Path):
    out = plot_generated_shapes(_clouds(4), _clouds(4, 1), ["chair", "chair", "mug", "mug"], tmp_path / "g" / "gen.png")
    assert out.read_bytes()[:8] == PNG_MAGIC and out.stat().st_size > 1000
    again = plot_generated_shapes(_clouds(4), _clouds(4, 1), ["chair", "chair", "mug", "mug"], tmp_path / "again.png")
    assert again.read_bytes() == out.read_bytes()
    with pytest.raises(BadInputError, match="4 samples, 3 nearest"):
        plot_generated_shapes(_clouds(4), _clouds(3), ["a"] * 4, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()


def test_completion_figure(tmp_path: Path):
    out = plot_completions(_clouds(2), _clouds(2, 1), _clouds(2, 2), _clouds(2, 3), ["chair", "mug"],
                           tmp_path / "c.png")
    assert out.read_bytes()[:8] == PNG_MAGIC and out.stat().st_size > 1000
    with pytest.raises(BadInputError, match="1 names"):
        plot_completions(_clouds(2), _clouds(2), _clouds(2), _clouds(2), ["chair"], tmp_path / "bad.png")

"""The shape-generation figure (paper 000 Fig. 15): generated shapes per class, each beside the
training shape whose embedding is nearest to it (are the samples new, or copies?)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..errors import BadInputError
from .plots import PathLike, plot_point_clouds

__all__ = ["plot_generated_shapes"]


def plot_generated_shapes(samples: Sequence[np.ndarray | torch.Tensor], nearest: Sequence[np.ndarray | torch.Tensor],
                          classes: Sequence[str], path: PathLike, per_row: int = 2, max_points: int = 2048) -> Path:
    """One row per class: ``per_row`` pairs (generated cloud, nearest training shape). ``samples[i]``,
    ``nearest[i]`` ``[n, 3]`` and ``classes[i]`` (its class name) are listed class by class."""
    n = len(samples)
    if n == 0 or not n == len(nearest) == len(classes):
        raise BadInputError(path, f"plot_generated_shapes: {n} samples, {len(nearest)} nearest shapes, "
                                  f"{len(classes)} class names")
    clouds, titles = [], []
    for s, t, c in zip(samples, nearest, classes):
        clouds += [s, t]
        titles += [f"generated {c}", "nearest training shape"]
    return plot_point_clouds(clouds, titles, path, ncols=2 * max(1, int(per_row)), max_points=max_points)

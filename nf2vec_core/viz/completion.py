"""The shape-completion figure (paper 000 Fig. 17): per test item, the partial input, the
completion decoded from the transferred embedding, the retrieval baseline and the ground truth."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..errors import BadInputError
from .plots import PathLike, plot_point_clouds

__all__ = ["plot_completions"]

COLUMNS = ("partial input", "nf2vec completion", "nearest training shape", "ground truth")


def plot_completions(partial: Sequence[np.ndarray | torch.Tensor], completed: Sequence[np.ndarray | torch.Tensor],
                     nearest: Sequence[np.ndarray | torch.Tensor], truth: Sequence[np.ndarray | torch.Tensor],
                     names: Sequence[str], path: PathLike, max_points: int = 2048) -> Path:
    """One row per item (``names[i]``, e.g. its class): the four clouds of :data:`COLUMNS`."""
    n = len(partial)
    if n == 0 or not n == len(completed) == len(nearest) == len(truth) == len(names):
        raise BadInputError(path, f"plot_completions: {n} partial, {len(completed)} completed, {len(nearest)} "
                                  f"nearest, {len(truth)} ground-truth clouds and {len(names)} names")
    clouds, titles = [], []
    for row in zip(partial, completed, nearest, truth, names):
        clouds += list(row[:4])
        titles += [f"{row[4]}: {COLUMNS[0]}", *COLUMNS[1:]]
    return plot_point_clouds(clouds, titles, path, ncols=len(COLUMNS), max_points=max_points)

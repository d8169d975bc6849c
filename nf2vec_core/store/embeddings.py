"""Embeddings on disk: ``embeddings.safetensors`` (``embeddings [N, D]``) beside ``index.csv``
(the neural dataset's index: same ids, same order)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch
from safetensors.torch import load_file

from ..errors import BadInputError
from .io import write_csv, write_tensors


def write_embeddings(out_dir: Path, embeddings: torch.Tensor, index: pd.DataFrame) -> None:
    if embeddings.shape[0] != len(index):
        raise ValueError("write_embeddings: one embedding per index row expected")
    if not torch.isfinite(embeddings).all():
        raise BadInputError(out_dir, "embeddings contain NaN/inf (encoder diverged?)")
    write_tensors(Path(out_dir) / "embeddings.safetensors", {"embeddings": embeddings.float()})
    write_csv(Path(out_dir) / "index.csv", index)


def read_embeddings(out_dir: Path) -> tuple[torch.Tensor, pd.DataFrame]:
    out_dir = Path(out_dir)
    for name in ("embeddings.safetensors", "index.csv"):
        if not (out_dir / name).is_file():
            raise BadInputError(out_dir / name, "not found: run the embed stage first")
    emb = load_file(str(out_dir / "embeddings.safetensors"))["embeddings"]
    index = pd.read_csv(out_dir / "index.csv", keep_default_na=False)
    if len(index) != emb.shape[0]:
        raise BadInputError(out_dir, "embeddings and index.csv disagree in length")
    return emb, index


def split_arrays(emb: torch.Tensor, index: pd.DataFrame, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(embeddings, class ids)`` of one split."""
    mask = torch.as_tensor((index["split"] == split).to_numpy())
    return emb[mask], torch.as_tensor(index["class_id"].to_numpy())[mask]


def view_arrays(view_dir: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(embeddings, class ids)`` of the views (other fits) of one split's items, written by the
    embed stage under ``<embeddings>/views``; empty tensors when there are none."""
    if not (Path(view_dir) / "index.csv").is_file():
        return torch.empty(0), torch.empty(0, dtype=torch.long)
    emb, index = read_embeddings(view_dir)
    return split_arrays(emb, index, split)

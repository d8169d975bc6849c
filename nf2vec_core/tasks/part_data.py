"""Part-segmentation splits from a prepared-data directory (the ``preprocess`` stage's
``surface`` samples and ``surface_labels``) and, for the part decoder, the embed stage's embeddings.

The taxonomy comes from the prepared data's ``meta.json`` (``source`` and ``classes`` in class-id
order, :func:`~nf2vec_core.data.parts.taxonomy_for`); the stored local labels become global part
ids. The first ``points`` surface samples of each shape are used (they are random samples of its
surface, so any prefix is a random subset; paper 000 uses clouds of 2048 points). Embeddings are
matched to the prepared items by ``id``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from ..data.parts import PartTaxonomy, global_part_labels, taxonomy_for
from ..errors import BadInputError, ConfigError
from ..store.prepared import PreparedData
from .pointnet_seg import PointNetSegConfig
from .segmentation import PartDecoderConfig, PartSplit, part_split


@dataclass(frozen=True)
class PartSegParams:
    """A ``part_seg`` params section: surface points per shape (paper 000: 2048), test shapes to
    draw, the part decoder's and the PointNet baseline's options."""

    points: int = 2048
    plot_shapes: int = 4
    decoder: PartDecoderConfig = field(default_factory=PartDecoderConfig)
    pointnet: PointNetSegConfig = field(default_factory=PointNetSegConfig)

    def __post_init__(self) -> None:
        if int(self.points) < 1 or int(self.plot_shapes) < 0:
            raise ConfigError(f"part_seg: need points >= 1 and plot_shapes >= 0, got {self.points}, {self.plot_shapes}")


def prepared_taxonomy(prepared: PreparedData) -> tuple[PartTaxonomy, int]:
    """``(taxonomy, label base)`` of a prepared dataset (from its ``meta.json``)."""
    try:
        return taxonomy_for(prepared.meta["source"], prepared.meta["classes"])
    except ConfigError as exc:
        raise ConfigError(f"{prepared.root}: {exc}") from exc


def _embedding_rows(ids: Sequence[str], emb_index: pd.DataFrame, where: Path | None) -> np.ndarray:
    pos = {str(i): k for k, i in enumerate(emb_index["id"])}
    missing = [i for i in ids if i not in pos]
    if missing:
        raise BadInputError(where, f"{len(missing)} prepared item(s) have no embedding (e.g. {missing[0]!r}): "
                                   "embed the same dataset")
    return np.array([pos[i] for i in ids], dtype=np.int64)


def load_part_splits(prepared: PreparedData, splits: Sequence[str] = ("train", "val", "test"), points: int = 2048,
                     embeddings: torch.Tensor | None = None, embedding_index: pd.DataFrame | None = None,
                     embeddings_dir: Path | None = None) -> tuple[dict[str, PartSplit], PartTaxonomy]:
    """``({split: PartSplit}, taxonomy)`` of the items of each split of ``prepared`` (a split
    without items is left out), with ``embeddings [M, D]`` (rows named by ``embedding_index``'s
    ``id`` column; ``embeddings_dir`` only names them in errors) when given."""
    if int(points) < 1:
        raise ConfigError(f"param 'points': must be >= 1, got {points}")
    if (embeddings is None) != (embedding_index is None):
        raise ConfigError("load_part_splits: give the embeddings together with their index")
    taxonomy, base = prepared_taxonomy(prepared)
    if "surface_labels" not in prepared.keys:
        raise BadInputError(prepared.root, "prepared data has no surface_labels: re-run the preprocess stage")
    out: dict[str, PartSplit] = {}
    for split in splits:
        rows = prepared.split_rows([split])
        if not rows:
            continue
        part = prepared.subset(rows)
        surface = part.tensor("surface")
        if surface.shape[1] < points:
            raise ConfigError(f"param 'points': {points} points per shape asked, {prepared.root} holds "
                              f"{surface.shape[1]} surface samples (datasets.*.n_surface)")
        class_ids = part.index["class_id"].to_numpy()
        labels = global_part_labels(part.tensor("surface_labels")[:, :points].numpy(), class_ids, taxonomy, base,
                                    where=str(prepared.root / "fields.safetensors"))
        emb = None
        if embeddings is not None:
            emb = embeddings[torch.as_tensor(_embedding_rows(list(part.index["id"].astype(str)), embedding_index,
                                                             embeddings_dir))]
        out[split] = part_split(surface[:, :points], labels, class_ids, taxonomy, emb, name=f"{prepared.root} {split}")
    return out, taxonomy


def scores_record(scores: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-able part of :func:`~nf2vec_core.tasks.segmentation.evaluate_segmenter`'s scores:
    ``instance_miou, class_miou, accuracy, shapes`` and ``per_category {name: mIoU or None}``."""
    return {"instance_miou": float(scores["instance_miou"]), "class_miou": float(scores["class_miou"]),
            "accuracy": float(scores["accuracy"]), "shapes": int(len(scores["shape_ious"])),
            "per_category": {c: v["miou"] for c, v in scores["per_category"].items()}}


__all__ = ["PartSegParams", "prepared_taxonomy", "load_part_splits", "scores_record"]

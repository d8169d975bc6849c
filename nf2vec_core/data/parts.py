"""Part taxonomies for part segmentation: which part labels belong to which category.

A :class:`PartTaxonomy` lists categories (in class-id order) and the number of parts of each; the
parts of all categories are numbered consecutively (*global* part ids), category ``c`` owning
``offsets[c] .. offsets[c] + counts[c] - 1``. For the 16 ShapeNet-Part categories in alphabetical
order this is the benchmark's numbering of its 50 parts (Airplane 0-3, Bag 4-5, ..., Table 47-49;
Yi et al., "A scalable active framework for region annotation in 3D shape collections", 2016, as
used by PointNet).

Label files keep *local* ids (the part's rank within its category): ShapeNet-Part ``.seg`` files
count from 1 (``shapenetcore_partanno_segmentation_benchmark_v0``), the procedural shapes from 0
(index into :data:`~nf2vec_core.data.procedural.PART_NAMES`). :func:`global_part_labels` maps them
to global ids, checking every label against its shape's category.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import BadInputError, ConfigError
from .procedural import PART_NAMES

SHAPENET_PART_COUNTS: dict[str, int] = {
    "Airplane": 4, "Bag": 2, "Cap": 2, "Car": 4, "Chair": 4, "Earphone": 3, "Guitar": 3, "Knife": 2,
    "Lamp": 4, "Laptop": 2, "Motorbike": 6, "Mug": 2, "Pistol": 3, "Rocket": 3, "Skateboard": 3, "Table": 3,
}
"""Parts per ShapeNet-Part category (names as in ``synsetoffset2category.txt``); 50 in all."""

LABEL_BASE: dict[str, int] = {"shapenet_part": 1, "procedural": 0}
"""First local part label in the stored labels of each dataset source."""


@dataclass(frozen=True)
class PartTaxonomy:
    """Categories (class-id order) and their part counts; global part ids are consecutive."""

    categories: tuple[str, ...]
    counts: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "categories", tuple(str(c) for c in self.categories))
        object.__setattr__(self, "counts", tuple(int(k) for k in self.counts))
        if not self.categories or len(self.categories) != len(self.counts):
            raise ConfigError(f"part taxonomy: {len(self.categories)} categories vs {len(self.counts)} part counts")
        if len(set(self.categories)) != len(self.categories):
            raise ConfigError(f"part taxonomy: duplicate category in {list(self.categories)}")
        if min(self.counts) < 1:
            raise ConfigError(f"part taxonomy: every category needs >= 1 part, got {dict(zip(self.categories, self.counts))}")

    @property
    def num_categories(self) -> int:
        return len(self.categories)

    @property
    def num_parts(self) -> int:
        """Global part ids over all categories."""
        return int(sum(self.counts))

    @property
    def offsets(self) -> np.ndarray:
        """int64 ``[C]``: the first global part id of each category."""
        return np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)

    def parts_of(self) -> dict[str, list[int]]:
        """``{category: [global part ids]}`` (the benchmark's ``seg_classes``)."""
        return {c: list(range(int(o), int(o) + k)) for c, o, k in zip(self.categories, self.offsets, self.counts)}

    def mask(self) -> np.ndarray:
        """bool ``[C, K]``: ``mask[c, k]`` when global part ``k`` belongs to category ``c``."""
        owner = np.repeat(np.arange(self.num_categories), self.counts)
        return owner[None, :] == np.arange(self.num_categories)[:, None]

    def owner(self) -> np.ndarray:
        """int64 ``[K]``: the category of each global part id."""
        return np.repeat(np.arange(self.num_categories, dtype=np.int64), self.counts)


def shapenet_part_taxonomy(categories: Sequence[str] | None = None) -> PartTaxonomy:
    """ShapeNet-Part categories (all 16, alphabetical, by default) with their part counts."""
    names = sorted(SHAPENET_PART_COUNTS) if categories is None else list(categories)
    unknown = [c for c in names if c not in SHAPENET_PART_COUNTS]
    if unknown:
        raise ConfigError(f"ShapeNet-Part: unknown categories {unknown}; expected some of {sorted(SHAPENET_PART_COUNTS)}")
    return PartTaxonomy(tuple(names), tuple(SHAPENET_PART_COUNTS[c] for c in names))


def procedural_taxonomy(categories: Sequence[str] | None = None) -> PartTaxonomy:
    """The procedural classes (all, in their class-id order, by default) with their semantic parts."""
    names = list(PART_NAMES) if categories is None else list(categories)
    unknown = [c for c in names if c not in PART_NAMES]
    if unknown:
        raise ConfigError(f"procedural shapes: unknown classes {unknown}; expected some of {list(PART_NAMES)}")
    return PartTaxonomy(tuple(names), tuple(len(PART_NAMES[c]) for c in names))


def taxonomy_for(source: str, categories: Sequence[str]) -> tuple[PartTaxonomy, int]:
    """``(taxonomy, label base)`` of a prepared dataset: its ``meta.json`` ``source`` and ``classes``
    (class-id order). Sources without part labels raise :class:`ConfigError`."""
    if source == "shapenet_part":
        return shapenet_part_taxonomy(categories), LABEL_BASE[source]
    if source == "procedural":
        return procedural_taxonomy(categories), LABEL_BASE[source]
    raise ConfigError(f"part segmentation needs per-point part labels: source {source!r} has none "
                      f"(sources with part labels: {sorted(LABEL_BASE)})")


def global_part_labels(labels: np.ndarray, class_ids: np.ndarray, taxonomy: PartTaxonomy, base: int = 0,
                       where: str | None = None) -> np.ndarray:
    """Local labels ``[N, P]`` (counting from ``base``) of shapes of classes ``class_ids [N]`` ->
    global part ids int64 ``[N, P]``. A label outside its shape's category (``-1`` = unlabelled
    included) raises :class:`BadInputError` naming ``where``, the shape and the label."""
    lab = np.asarray(labels).astype(np.int64)
    cls = np.asarray(class_ids).astype(np.int64).reshape(-1)
    if lab.ndim != 2 or lab.shape[0] != cls.shape[0]:
        raise BadInputError(where, f"part labels: expected [N, P] labels for {cls.shape[0]} shapes, got {lab.shape}")
    if cls.size and (cls.min() < 0 or cls.max() >= taxonomy.num_categories):
        raise BadInputError(where, f"class ids must lie in [0, {taxonomy.num_categories}), "
                                   f"got [{cls.min()}, {cls.max()}]")
    local = lab - int(base)
    counts = np.asarray(taxonomy.counts, dtype=np.int64)[cls][:, None]
    bad = (local < 0) | (local >= counts)
    if bad.any():
        n, p = (int(i) for i in np.argwhere(bad)[0])
        cat = taxonomy.categories[cls[n]]
        raise BadInputError(where, f"shape {n} ({cat}) point {p}: part label {lab[n, p]} is not one of "
                                   f"{cat}'s {counts[n, 0]} parts ({base}..{base + counts[n, 0] - 1})"
                                   + (" (-1: the shape has no part labels)" if lab[n, p] == -1 else ""))
    return local + taxonomy.offsets[cls][:, None]


__all__ = ["SHAPENET_PART_COUNTS", "LABEL_BASE", "PartTaxonomy", "shapenet_part_taxonomy", "procedural_taxonomy",
           "taxonomy_for", "global_part_labels"]

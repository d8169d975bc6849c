"""A dataset item found on disk (:mod:`.layouts`, :mod:`.pointclouds`) and the split names."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

SPLITS = ("train", "val", "test")
UNKNOWN = "unknown"
SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
                 "test": "test", "testing": "test"}   # split folder name -> split


@dataclass(frozen=True)
class Item:
    """One dataset item: unique ``id``, file ``path``, ``class_name``, ``split`` and layout ``extra`` data."""

    id: str
    path: Path
    class_name: str
    split: str
    extra: dict = field(default_factory=dict, compare=False, hash=False)

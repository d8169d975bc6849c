"""MNIST folders: which idx files to read, and the official train/test split.

A folder is read in one of three ways:

* the official distribution: ``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte`` (60,000
  digits) and ``t10k-images-idx3-ubyte`` / ``t10k-labels-idx1-ubyte`` (10,000), each gzipped
  (``.gz``) or raw, also spelt ``train-images.idx3-ubyte``. The split is the official one:
  t10k is the test split, validation is carved from train (:func:`nf2vec_core.data.prepare.official_splits`);
* a single pair of any name (``*images*idx3*`` with its ``*labels*idx1*`` partner, e.g.
  ``images-idx3-ubyte.gz`` / ``labels-idx1-ubyte.gz``): one set, split like any other dataset;
* the pair named in params (``images``, ``labels``, relative to ``root``): the same, whatever else
  the folder holds.

Anything else is an error naming the files: several image files that are not the official
pair, an images file without its labels (or labels without images), counts that disagree.
A raw file beside its own ``.gz`` (torchvision keeps both) counts once when both hold the same
bytes.
"""
from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from ..errors import BadInputError, ConfigError
from .readers import read_mnist_idx

OFFICIAL = re.compile(r"^(?P<part>train|t10k)-images[-.]idx3-ubyte$")
PARTS = {"train": "train", "t10k": "test"}  # official file prefix -> split


@dataclass(frozen=True)
class IdxPair:
    """One images file with its labels file; ``part`` is the official split ("train"/"test") or None."""

    images: Path
    labels: Path
    part: Optional[str] = None


@dataclass(frozen=True)
class ImageSet:
    """Images uint8 ``[N,H,W]``, labels int64 ``[N]``, provenance ``file#index`` per item, and the
    official split per item (``"train"``/``"test"``), None when the files give none."""

    images: np.ndarray
    labels: np.ndarray
    sources: list[str]
    official: Optional[np.ndarray] = None


def _logical(path: Path) -> str:
    """The file name without a ``.gz`` suffix (a raw file and its gzip copy share it)."""
    return path.name[:-3] if path.name.endswith(".gz") else path.name


def _partner(image_name: str) -> str:
    """The labels name that goes with an images name (``.gz`` stripped)."""
    return image_name.replace("images", "labels", 1).replace("idx3", "idx1", 1)


def _payload(path: Path) -> bytes:
    raw = path.read_bytes()
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def _one_per_name(files: list[Path]) -> dict[str, Path]:
    """Files by logical name; a raw file and its ``.gz`` copy count once if they hold the same bytes
    (the raw one is kept), and are an error naming both otherwise."""
    out: dict[str, Path] = {}
    for f in files:
        name = _logical(f)
        if name not in out:
            out[name] = f
            continue
        a, b = sorted([out[name], f], key=lambda x: x.name.endswith(".gz"))   # raw first
        try:
            same = _payload(a) == _payload(b)
        except (OSError, EOFError) as exc:
            raise BadInputError(b, f"unreadable idx file ({exc.__class__.__name__}: {exc})") from exc
        if not same:
            raise BadInputError(a.parent, f"ambiguous MNIST folder: {a.name} and {b.name} hold different "
                                          "data; keep one, or name the pair in params 'images'/'labels'")
        out[name] = a
    return out


def find_pairs(root: Path, images: Optional[str] = None, labels: Optional[str] = None) -> list[IdxPair]:
    """The idx pair(s) to read under ``root``: the named pair, the single pair, or the official
    train + t10k pairs (in that order); anything ambiguous raises an error naming the files."""
    if (images is None) != (labels is None):
        given, missing = ("images", "labels") if labels is None else ("labels", "images")
        raise ConfigError(f"param '{given}': an explicit MNIST pair needs '{missing}' too")
    if images is not None:
        return [IdxPair(root / images, root / labels)]
    if not root.is_dir():
        raise BadInputError(root, "MNIST root is not a directory")
    imgs = _one_per_name(sorted(f for f in root.glob("*images*idx3*") if f.is_file()))
    labs = _one_per_name(sorted(f for f in root.glob("*labels*idx1*") if f.is_file()))
    if not imgs and not labs:
        raise BadInputError(root, "no MNIST idx files (*images*idx3*, *labels*idx1*) found")
    orphans = [f"{img.name} (no {_partner(n)}[.gz])" for n, img in imgs.items() if _partner(n) not in labs]
    paired = {_partner(n) for n in imgs}
    orphans += [f"{lab.name} (no images file)" for n, lab in labs.items() if n not in paired]
    if orphans:
        raise BadInputError(root, f"unpaired MNIST idx files: {', '.join(orphans)}")
    pairs = [IdxPair(img, labs[_partner(n)], _official_part(n)) for n, img in imgs.items()]
    if len(pairs) == 1:
        return [IdxPair(pairs[0].images, pairs[0].labels)]       # one set: no split given by the files
    if sorted(p.part or "" for p in pairs) == ["test", "train"]:
        return sorted(pairs, key=lambda p: p.part != "train")
    raise BadInputError(root, f"ambiguous MNIST folder: {len(pairs)} image files "
                              f"({', '.join(p.images.name for p in pairs)}); expected one pair or the "
                              "official train + t10k pairs; name the pair in params 'images'/'labels'")


def _official_part(logical_name: str) -> Optional[str]:
    m = OFFICIAL.match(logical_name)
    return PARTS[m.group("part")] if m else None


def read_pairs(pairs: list[IdxPair]) -> ImageSet:
    """Read and concatenate the pairs (images of one size throughout); counts are checked per pair."""
    read = [read_mnist_idx(p.images, p.labels) for p in pairs]
    first = pairs[0].images
    for p, (x, _) in zip(pairs[1:], read[1:]):
        if x.shape[1:] != read[0][0].shape[1:]:
            raise BadInputError(p.images, f"images of size {x.shape[1:]} but {first} holds {read[0][0].shape[1:]}")
    sources = [f"{p.images}#{i}" for p, (x, _) in zip(pairs, read) for i in range(len(x))]
    official = None
    if pairs[0].part is not None:
        official = np.concatenate([np.full(len(y), p.part) for p, (_, y) in zip(pairs, read)])
    images = read[0][0] if len(read) == 1 else np.concatenate([x for x, _ in read])
    labels = read[0][1] if len(read) == 1 else np.concatenate([y for _, y in read])
    return ImageSet(images, labels, sources, official)


def read_mnist_folder(root: Path, images: Optional[str] = None, labels: Optional[str] = None) -> ImageSet:
    """The digits of an MNIST folder (see the module docstring for what is read)."""
    return read_pairs(find_pairs(root, images, labels))


def cap_per_class(labels: np.ndarray, n: int, official: Optional[np.ndarray] = None) -> np.ndarray:
    """Sorted indices of the first ``n`` items of each class (all for ``n == 0``). With an official
    split the ``n`` of a class are drawn from each split in proportion to the split's size."""
    if not n:
        return np.arange(len(labels))
    if official is None:
        keep = np.concatenate([np.flatnonzero(labels == c)[:n] for c in np.unique(labels)])
    else:
        n_test = int(round(n * float(np.mean(official == "test"))))
        quota = {"train": n - n_test, "test": n_test}
        keep = np.concatenate([np.flatnonzero((labels == c) & (official == s))[:k]
                               for c in np.unique(labels) for s, k in quota.items()])
    keep.sort()
    return keep

"""Dataset layouts on disk -> sorted lists of :class:`~.items.Item` (id, path, class, split, extra).

Supported layouts (``root`` is the folder named below as ``.``):

* **ModelNet10/40** -- ``./<class>/<split>/<class>_XXXX.off``; also the flat ``./<class>/*.off``
  (no split folders, e.g. the repository's sample data), whose items get split ``"unknown"``.
* **ShapeNetCore** -- v1 ``./<synset>/<id>/model.obj``, v2 ``./<synset>/<id>/models/model_normalized.obj``;
  also a flat one-class folder ``./<id>/model.obj`` (class from the ``class_name`` argument).
* **Manifold40** -- ``./<class>/<split>/*.obj``.
* **ShapeNet10 / ScanNet10 point clouds** -- ``./<class>/<split>/*.ply``.
* **ShapeNet-Part** (``shapenetcore_partanno_segmentation_benchmark_v0``) -- ``./<synset>/points/*.pts``
  with ``./<synset>/points_label/*.seg``, ``./synsetoffset2category.txt`` and
  ``./train_test_split/shuffled_{train,val,test}_file_list.json``.

Conventions: ``Item.id`` is unique within a scan (the path relative to ``root`` without the
suffix, or ``<synset>/<model id>`` for ShapeNet); lists are sorted by id; split folder names
``train/training``, ``val/valid/validation``, ``test/testing`` map to ``train``/``val``/``test``
and anything absent to ``"unknown"``, which :func:`nf2vec_core.data.prepare.assign_splits`
resolves deterministically.
Hidden files/folders and ``__MACOSX`` debris are ignored. A root with no recognised file raises
:class:`~nf2vec_core.errors.BadInputError` naming the root and the expected layout. Suffixes match
case-insensitively (``chair_0001.OFF`` is a ModelNet item). Files of another data format where a
``<class>/<split>`` layout expects its items (an ``.obj`` in a ModelNet tree) are not items; they are
listed by :func:`stray_files`, so that preprocessing reports them instead of ignoring them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Mapping

from ..errors import BadInputError, ConfigError
from .items import SPLIT_ALIASES, SPLITS, UNKNOWN, Item
from .pointclouds import scan_clouds


class NoItemsError(BadInputError):
    """A dataset root holding no file of the expected layout."""


# ----------------------------------------------------------------------- helpers
def _root(root: str | Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise BadInputError(root, "dataset root not found (not a directory)")
    return root


def _visible(path: Path, root: Path) -> bool:
    return not any(p.startswith(".") or p == "__MACOSX" for p in path.relative_to(root).parts)


def _require(items: list[Item], root: Path, expected: str) -> list[Item]:
    """Sort by id; raise on an empty scan or duplicate ids."""
    if not items:
        raise NoItemsError(root, f"no recognised files: expected {expected}")
    items = sorted(items, key=lambda it: it.id)
    dup = next((a.id for a, b in zip(items, items[1:]) if a.id == b.id), None)
    if dup is not None:
        raise BadInputError(root, f"duplicate item id {dup!r}")
    return items


def _class_split_paths(root: Path) -> list[Path]:
    """Visible files at ``<class>/<split>/<file>`` or ``<class>/<file>``."""
    return [path for pattern in ("*/*/*", "*/*") for path in root.glob(pattern)
            if path.is_file() and _visible(path, root)]


def _class_split_files(root: str | Path, suffix: str, expected: str) -> list[Item]:
    """``<class>/<split>/*<suffix>`` (split from the folder name) or ``<class>/*<suffix>`` (split unknown)."""
    root = _root(root)
    items = []
    for path in _class_split_paths(root):
        if path.suffix.lower() != suffix:
            continue
        rel = path.relative_to(root)
        split = SPLIT_ALIASES.get(rel.parts[1].lower(), UNKNOWN) if len(rel.parts) == 3 else UNKNOWN
        items.append(Item(rel.with_suffix("").as_posix(), path, rel.parts[0], split))
    if not items:
        strays = stray_files(root, suffix)
        if strays:
            expected += f" (found {len(strays)} file(s) of another format, e.g. {strays[0].id!r})"
    return _require(items, root, expected)


# suffixes of data files (meshes, point clouds) that a <class>/<split> layout reports when it expects another one;
# other files (notes, licences, listings) are ignored
DATA_SUFFIXES = (".off", ".obj", ".ply", ".stl", ".glb", ".gltf", ".npy", ".npz", ".pts", ".pcd", ".h5", ".xyz")
LAYOUT_SUFFIX = {"modelnet": ".off", "manifold40": ".obj", "pointcloud_ply": ".ply"}


def stray_files(root: str | Path, suffix: str) -> list[Item]:
    """Data files (:data:`DATA_SUFFIXES`) in a ``<class>/<split>`` tree that does not read them
    (``suffix`` is the one it reads): one :class:`Item` each, id = the relative path with its suffix,
    split ``"unknown"``, sorted by id."""
    root = _root(root)
    strays = [Item(path.relative_to(root).as_posix(), path, path.relative_to(root).parts[0], UNKNOWN)
              for path in _class_split_paths(root)
              if path.suffix.lower() in DATA_SUFFIXES and path.suffix.lower() != suffix]
    return sorted(strays, key=lambda it: it.id)


# ---------------------------------------------------------------------- scanners
def scan_modelnet(root: str | Path) -> list[Item]:
    """ModelNet10/40: ``<class>/<split>/<class>_XXXX.off``, or flat ``<class>/*.off`` (split ``"unknown"``).

    Ids are ``<class>/<split>/<stem>`` (or ``<class>/<stem>`` when flat).
    """
    return _class_split_files(root, ".off", "ModelNet <class>/<split>/*.off or <class>/*.off")


def scan_manifold40(root: str | Path) -> list[Item]:
    """Manifold40: ``<class>/<split>/*.obj`` (flat ``<class>/*.obj`` also accepted, split ``"unknown"``)."""
    return _class_split_files(root, ".obj", "Manifold40 <class>/<split>/*.obj")


def scan_pointcloud_ply(root: str | Path) -> list[Item]:
    """ShapeNet10/ScanNet10 point clouds: ``<class>/<split>/*.ply`` (flat ``<class>/*.ply`` accepted)."""
    return _class_split_files(root, ".ply", "point clouds <class>/<split>/*.ply")


def load_shapenet_taxonomy(path: str | Path) -> dict[str, str]:
    """ShapeNetCore ``taxonomy.json`` -> ``{synsetId: first name}`` (e.g. ``"03001627": "chair"``)."""
    path = Path(path)
    try:
        entries = json.loads(path.read_text())
        return {e["synsetId"]: e["name"].split(",")[0].strip() for e in entries}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BadInputError(path, f"not a ShapeNet taxonomy.json ({exc.__class__.__name__}: {exc})") from exc


def scan_shapenetcore(root: str | Path, class_name: str | None = None,
                      taxonomy: Mapping[str, str] | None = None) -> list[Item]:
    """ShapeNetCore v1/v2 (``<synset>/<id>/model.obj`` | ``<synset>/<id>/models/model_normalized.obj``).

    ``class_name`` is the synset id, or ``taxonomy[synset]`` when a mapping is given (see
    :func:`load_shapenet_taxonomy`). When no nested model is found, the flat one-class layout
    ``<id>/model.obj`` is scanned, with class ``class_name`` (default: the root folder's name).
    Ids are ``<synset or class>/<model id>``; splits are ``"unknown"``.
    """
    root = _root(root)
    taxonomy = dict(taxonomy or {})
    items = []
    for pattern in ("*/*/model.obj", "*/*/models/model_normalized.obj"):
        for path in root.glob(pattern):
            if not _visible(path, root):
                continue
            synset, model = path.relative_to(root).parts[:2]
            items.append(Item(f"{synset}/{model}", path, taxonomy.get(synset, synset), UNKNOWN, {"synset": synset}))
    if not items:
        cls = class_name or root.name
        items = [Item(f"{cls}/{p.parent.name}", p, cls, UNKNOWN) for p in root.glob("*/model.obj") if _visible(p, root)]
    elif class_name is not None:
        raise ConfigError(f"param 'class_name' applies only to a flat <id>/model.obj folder; {root} has "
                          "<synset>/<id> models (use 'taxonomy' to name synsets)")
    return _require(items, root, "ShapeNetCore <synset>/<id>/model.obj, "
                                 "<synset>/<id>/models/model_normalized.obj or <id>/model.obj")


def scan_shapenet_part(root: str | Path) -> list[Item]:
    """ShapeNet-Part benchmark: one item per ``<synset>/points/<id>.pts``.

    ``class_name`` is the category name from ``synsetoffset2category.txt`` (e.g. ``"Airplane"``),
    ``split`` comes from ``train_test_split/shuffled_{train,val,test}_file_list.json`` (entries
    ``"shape_data/<synset>/<id>"``; ``"unknown"`` for a file in no list), ``extra`` holds
    ``seg_path`` (the matching ``points_label/<id>.seg``, which may be missing) and ``synset``.
    Ids are ``<synset>/<id>``.
    """
    root = _root(root)
    cat_file = root / "synsetoffset2category.txt"
    if not cat_file.is_file():
        raise NoItemsError(root, "no recognised files: expected synsetoffset2category.txt (ShapeNet-Part)")
    names: dict[str, str] = {}
    for line in cat_file.read_text().splitlines():  # one line per category: "<Name>\t<synset>"
        parts = line.split()
        if len(parts) >= 2:
            names[parts[-1]] = " ".join(parts[:-1])
    if not names:
        raise BadInputError(cat_file, "no '<name> <synset>' lines")
    split_of: dict[str, str] = {}
    for split in SPLITS:
        f = root / "train_test_split" / f"shuffled_{split}_file_list.json"
        if not f.is_file():
            continue
        try:
            entries = json.loads(f.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise BadInputError(f, f"not valid JSON ({exc})") from exc
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            raise BadInputError(f, "expected a JSON list of 'shape_data/<synset>/<id>' strings")
        for e in entries:
            split_of.setdefault("/".join(e.strip("/").split("/")[-2:]), split)
    items = []
    for synset, cls in names.items():
        for pts in (root / synset / "points").glob("*.pts"):
            key = f"{synset}/{pts.stem}"
            items.append(Item(key, pts, cls, split_of.get(key, UNKNOWN),
                              {"seg_path": root / synset / "points_label" / f"{pts.stem}.seg", "synset": synset}))
    return _require(items, root, "ShapeNet-Part <synset>/points/*.pts")


def scan_pointclouds(root: str | Path) -> list[Item]:
    """Labelled point-cloud releases (:func:`nf2vec_core.data.pointclouds.scan_clouds`, layout detected);
    an HDF5 row's index is ``extra["row"]``, a cloud without split folder gets split ``"unknown"``."""
    return scan_clouds(root).to_items()


SCANNERS: dict[str, Callable[..., list[Item]]] = {
    "modelnet": scan_modelnet,
    "shapenetcore": scan_shapenetcore,
    "manifold40": scan_manifold40,
    "pointcloud_ply": scan_pointcloud_ply,
    "shapenet_part": scan_shapenet_part,
    "pointclouds": scan_pointclouds,
}

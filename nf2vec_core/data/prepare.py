"""Preprocess a dataset into ground-truth fields ready for fitting (the ``preprocess`` stage).

Output directory (``docs/neural_dataset_format.md``, "prepared data")::

    index.csv           id, source, class_name, class_id, split (deterministic)
    fields.safetensors  the ground truth, by field kind:
                          occupancy: voxels u8 [N,R,R,R]
                          sdf / udf: coords f32 [N,M,3], values f32 [N,M]
                          pixels:    images f32 [N,H,W,C]
                        off-grid evaluation sets (3-D kinds): offgrid_coords [N,K,3], offgrid_values [N,K]
                        surface samples (3-D kinds): surface [N,S,3], surface_labels i64 [N,S] (-1 = none)
    meta.json           kind, sizes, class names, clip, source
    rejected.csv        items that could not be used, with the reason

Items that fail to read (corrupt, empty, degenerate, NaN, no volume where the field needs one) and
data files of another format than the layout's are skipped and listed in ``rejected.csv``; the run
goes on with the rest. Splits missing from the layout are assigned after the rejection, so a
rejected item cannot leave a class without its validation or test item. A run in which every item
is rejected writes nothing but the rejected list (``rejected.csv``, or ``rejected.failed.csv`` beside
the outputs of an earlier successful run, which stay as they were) and raises ``BadInputError``.
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Literal, Optional

import numpy as np
import pandas as pd
import torch
import trimesh

from ..errors import BadInputError, ConfigError
from ..fields.normalize import apply_normalization, normalize_points
from ..fields.occupancy import voxelize_sdf
from ..fields.sampling import query_pool
from ..fields.sdf import sdf_function
from ..fields.udf import udf_from_points
from ..runtime import parallel_map
from ..store.io import write_csv, write_json, write_tensors
from . import procedural as proc
from .layouts import LAYOUT_SUFFIX, SCANNERS, NoItemsError, stray_files
from .mnist import cap_per_class, read_mnist_folder
from .readers import load_sklearn_digits, read_mesh, read_part_shape, read_ply_points

FieldKind = Literal["occupancy", "sdf", "udf", "pixels"]
SOURCES = ("procedural", "modelnet", "shapenetcore", "manifold40", "pointcloud_ply", "pointclouds",
           "shapenet_part", "mnist", "digits")
POINT_SOURCES = ("pointcloud_ply", "pointclouds", "shapenet_part")   # UDF fields only


@dataclass(frozen=True)
class SplitParams:
    val: float = 0.1
    test: float = 0.2


@dataclass(frozen=True)
class DatasetParams:
    """One entry of the ``datasets`` section of params.yaml."""

    source: str = "procedural"
    field: FieldKind = "occupancy"
    root: Optional[str] = None            # user's dataset root (real layouts)
    inputs: Optional[str] = None          # what DVC watches for this dataset (dvc.yaml): the root for real
                                          # layouts, the generating module for generated data
    n_per_class: int = 40                 # procedural: shapes per class; real: cap per class (0 = all)
    classes: Optional[list[str]] = None   # subset of classes (None = all); each must exist in the layout
    carve_from: Optional[str] = None      # real layouts: keep only this folder split (e.g. "train", the
                                          # official train folder) and carve train/val/test from it by `split`
    split: SplitParams = dc_field(default_factory=SplitParams)
    resolution: int = 64                  # occupancy voxel grid
    n_queries: int = 16384                # sdf/udf query pool per shape
    n_offgrid: int = 8192                 # off-grid evaluation points per shape
    n_surface: int = 4096                 # surface samples per shape (Chamfer, PointNet, parts)
    clip: float = 0.1                     # UDF/SDF clipping threshold
    sign_resolution: int = 128            # flood-fill grid deciding SDF signs of non-watertight meshes
    max_yaw_deg: float = 180.0            # procedural: yaw uniform in [-max, max] degrees (180 = any heading)
    workers: int = 0                      # processes preprocessing items in parallel (0 = one per CPU)
    seed: int = 0
    images: Optional[str] = None          # mnist: the idx pair to read, relative to root (None = found in root)
    labels: Optional[str] = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ConfigError(f"param 'source': unknown source {self.source!r}; expected one of {SOURCES}")
        if (self.images is None) != (self.labels is None) or (self.images and self.source != "mnist"):
            raise ConfigError("param 'images'/'labels': name both files of an idx pair, for source 'mnist' only")
        if self.source in ("mnist", "digits") and self.field != "pixels":
            raise ConfigError(f"param 'field': image source {self.source!r} needs field 'pixels'")
        if self.carve_from is not None and self.carve_from not in ("train", "val", "test"):
            raise ConfigError(f"param 'carve_from': {self.carve_from!r} is not a split folder (train, val or test)")
        if self.source in POINT_SOURCES and self.field != "udf":
            raise ConfigError(f"param 'field': point-cloud source {self.source!r} supports field 'udf' only")


# ------------------------------------------------------------------------- splits
def assign_splits(ids: list[str], classes: list[str], val: float, test: float, seed: int) -> list[str]:
    """Deterministic stratified split: within each class, items ordered by a seeded hash of their id."""
    rng_key = np.random.default_rng(seed).integers(1 << 62)
    out = [""] * len(ids)
    by_class: dict[str, list[int]] = {}
    for i, c in enumerate(classes):
        by_class.setdefault(c, []).append(i)
    for members in by_class.values():
        members = sorted(members, key=lambda i: _stable_hash(f"{rng_key}:{ids[i]}"))
        n = len(members)
        # at least one item in a requested split once a class has 3 items (small datasets)
        n_test = max(int(round(test * n)), 1 if test > 0 and n >= 3 else 0)
        n_val = max(int(round(val * n)), 1 if val > 0 and n >= 3 else 0)
        for rank, i in enumerate(members):
            out[i] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return out


def official_splits(ids: list[str], classes: list[str], official: np.ndarray, val: float, seed: int) -> list[str]:
    """Official test items stay "test"; a share ``val`` of the official train items becomes "val",
    by the project's seeded, stratified rule (:func:`assign_splits`)."""
    train = np.flatnonzero(official == "train")
    out = ["test"] * len(ids)
    for i, s in zip(train, assign_splits([ids[i] for i in train], [classes[i] for i in train], val, 0.0, seed)):
        out[i] = s
    return out


def _split_unassigned(records: list[ShapeRecord], p: DatasetParams) -> list[ShapeRecord]:
    """Give the records without a train/val/test split one by :func:`assign_splits` (in place)."""
    todo = [r for r in records if r.split not in ("train", "val", "test")]
    for r, split in zip(todo, assign_splits([r.id for r in todo], [r.class_name for r in todo],
                                            p.split.val, p.split.test, p.seed)):
        r.split = split
    return records


def _stable_hash(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little")


# ------------------------------------------------------------------ shape sources
@dataclass
class ShapeRecord:
    """One preprocessed 3-D item before stacking."""

    id: str
    source: str
    class_name: str
    split: str
    fields: dict[str, np.ndarray]


def _surface_and_offgrid(inside_fn, surface: np.ndarray, labels: np.ndarray, p: DatasetParams,
                         rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Off-grid evaluation points (uniform in the cube for occupancy, whose on-grid points are the
    uniform voxel centres; the near-surface query pool otherwise) and surface samples."""
    k = p.n_offgrid
    if p.field == "occupancy":  # off-grid = same (uniform) distribution as the voxel centres, off the grid
        off = rng.uniform(-1, 1, size=(k, 3)).astype(np.float32)
    else:
        off = query_pool(surface, k, rng=rng).astype(np.float32)
    return {"offgrid_coords": off, "offgrid_values": inside_fn(off).astype(np.uint8),
            "surface": surface[: p.n_surface].astype(np.float32),
            "surface_labels": labels[: p.n_surface].astype(np.int64)}


def _fields_from_sdf_fn(sdf_fn, surface: np.ndarray, labels: np.ndarray, p: DatasetParams,
                        rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Ground truth for a shape given a signed-distance callable (negative inside) and surface samples."""
    inside = lambda q: sdf_fn(q) < 0  # noqa: E731
    out = _surface_and_offgrid(inside, surface, labels, p, rng)
    if p.field == "occupancy":  # exact: |sdf| never exceeds the distance to the surface
        out["voxels"] = voxelize_sdf(sdf_fn, p.resolution).astype(np.uint8)
    elif p.field in ("sdf", "udf"):
        q = query_pool(surface, p.n_queries, rng=rng).astype(np.float32)
        out["coords"] = q
        if p.field == "sdf":
            out["values"] = sdf_fn(q).astype(np.float32)
        else:
            out["values"] = udf_from_points(surface, q, clip=p.clip).astype(np.float32)
        if p.field == "udf":  # off-grid values: UDF at the off-grid points
            out["offgrid_values"] = udf_from_points(surface, out["offgrid_coords"], clip=p.clip).astype(np.float32)
        else:
            out["offgrid_values"] = sdf_fn(out["offgrid_coords"]).astype(np.float32)
    return out


def _records_and_rejected(results: list) -> tuple[list[ShapeRecord], list[dict]]:
    """Split worker results into the usable records and the rejected items (dicts), in order."""
    return ([r for r in results if isinstance(r, ShapeRecord)],
            [r for r in results if not isinstance(r, ShapeRecord)])


def _procedural_item(args: tuple) -> ShapeRecord | dict:
    """Ground truth of one procedural shape (a worker of :func:`procedural_records`)."""
    sid, class_name, shape_seed, p = args
    split = "unknown"  # assigned after the rejection (_split_unassigned)
    try:
        shape = proc.make_shape(class_name, shape_seed, p.max_yaw_deg)
        rng = np.random.default_rng([p.seed, _stable_hash(sid) & 0xFFFFFFFF])
        surface, _, labels = proc.sample_surface(shape, max(p.n_surface, 2048), seed=int(rng.integers(1 << 31)))
        sdf_fn = lambda q: proc.shape_sdf(shape, q)[0]  # noqa: E731
        fields = _fields_from_sdf_fn(sdf_fn, surface, labels, p, rng)
        return ShapeRecord(sid, f"procedural:{shape.class_name}:{shape.seed}", shape.class_name, split, fields)
    except BadInputError as exc:
        return {"id": sid, "source": "procedural", "reason": str(exc)}


def procedural_records(p: DatasetParams) -> tuple[list[ShapeRecord], list[dict]]:
    """The embedded procedural dataset (no download), deterministic from ``p.seed``."""
    seeds = proc.dataset_seeds(p.n_per_class, p.seed, p.classes, p.max_yaw_deg)
    ids = [f"{c}_{i:04d}" for i, (c, _) in enumerate(seeds)]
    # the workers build the shapes too (normalising one costs about as much as its ground truth)
    jobs = [(sid, c, s, p) for sid, (c, s) in zip(ids, seeds)]
    records, rejected = _records_and_rejected(parallel_map(_procedural_item, jobs, p.workers,
                                                           desc="preprocess procedural", unit="shape"))
    return _split_unassigned(records, p), rejected


def _mesh_fields(path: Path, p: DatasetParams, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Ground truth from a mesh file: normalised, SDF by winding-number sign (fields.sdf)."""
    mesh = read_mesh(path)
    if p.field in ("occupancy", "sdf"):
        mesh.require_volume(path)
    _, center, scale = normalize_points(mesh.vertices)
    verts = apply_normalization(mesh.vertices, center, scale).astype(np.float64)
    tm = trimesh.Trimesh(verts, mesh.faces, process=False)
    surface, _ = trimesh.sample.sample_surface(tm, max(p.n_surface, 2048), seed=int(rng.integers(1 << 31)))
    labels = -np.ones(len(surface), dtype=np.int64)
    sdf_fn = sdf_function(verts, mesh.faces, fill_resolution=p.sign_resolution)
    return _fields_from_sdf_fn(sdf_fn, np.asarray(surface, dtype=np.float32), labels, p, rng)


def _pointcloud_fields(points: np.ndarray, labels: np.ndarray, p: DatasetParams,
                       rng: np.random.Generator) -> dict[str, np.ndarray]:
    """UDF ground truth from a point cloud (normalised; KD-tree distances clipped at ``p.clip``)."""
    pts, _, _ = normalize_points(points)
    perm = rng.permutation(len(pts))
    surf, lab = pts[perm][: p.n_surface], labels[perm][: p.n_surface]
    if len(surf) < p.n_surface:  # pad by resampling so every item has the same count
        extra = rng.integers(0, len(surf), p.n_surface - len(surf))
        surf, lab = np.concatenate([surf, surf[extra]]), np.concatenate([lab, lab[extra]])
    q = query_pool(pts, p.n_queries, rng=rng).astype(np.float32)
    off = query_pool(pts, p.n_offgrid, rng=rng).astype(np.float32)
    return {"coords": q, "values": udf_from_points(pts, q, clip=p.clip).astype(np.float32),
            "offgrid_coords": off, "offgrid_values": udf_from_points(pts, off, clip=p.clip).astype(np.float32),
            "surface": surf.astype(np.float32), "surface_labels": lab.astype(np.int64)}


def layout_records(p: DatasetParams) -> tuple[list[ShapeRecord], list[dict]]:
    """Real dataset layouts on the user's disk (ModelNet, ShapeNetCore, Manifold40, PLY clouds, ShapeNet-Part)."""
    if not p.root:
        raise ConfigError(f"param 'root': source {p.source!r} needs the dataset root directory")
    root = Path(p.root)
    strays = stray_files(root, LAYOUT_SUFFIX[p.source]) if p.source in LAYOUT_SUFFIX else []
    try:
        items = SCANNERS[p.source](root)
    except NoItemsError:
        if not strays:
            raise
        items = []  # every file is of another format: all rejected below
    if p.classes:
        missing = sorted(set(p.classes) - {it.class_name for it in items})
        if missing:
            raise ConfigError(f"param 'classes': {missing} not found under {root} "
                              f"(its classes: {sorted({it.class_name for it in items})})")
        items = [it for it in items if it.class_name in set(p.classes)]
        strays = [it for it in strays if it.class_name in set(p.classes)]
    if p.carve_from:
        items = carve_items(items, p.carve_from, root)
    stray_rows = [{"id": it.id, "source": str(it.path),
                   "reason": f"unexpected file type {it.path.suffix!r} (the {p.source} layout reads "
                             f"{LAYOUT_SUFFIX[p.source]} files)"} for it in strays]
    if p.n_per_class:
        kept, count = [], {}
        for it in items:
            if count.get(it.class_name, 0) < p.n_per_class:
                kept.append(it)
                count[it.class_name] = count.get(it.class_name, 0) + 1
        items = kept
    records, rejected = _records_and_rejected(parallel_map(_layout_item, [(it, p) for it in items], p.workers,
                                                           desc=f"preprocess {p.source}", unit="item"))
    return _split_unassigned(records, p), rejected + stray_rows


def carve_items(items: list, split: str, root: Path) -> list:
    """The items of folder split ``split`` with their split cleared (``"unknown"``), so that
    :func:`assign_splits` carves train/val/test from them; the other folders' items are left out."""
    from dataclasses import replace

    from .layouts import UNKNOWN

    kept = [replace(it, split=UNKNOWN) for it in items if it.split == split]
    if not kept:
        raise BadInputError(root, f"no item in a {split!r} split folder to carve the splits from "
                                  f"(param 'carve_from'; folder splits found: {sorted({it.split for it in items})})")
    return kept


def _layout_item(args: tuple) -> ShapeRecord | dict:
    """Ground truth of one item of a real layout (a worker of :func:`layout_records`)."""
    it, p = args
    rng = np.random.default_rng([p.seed, _stable_hash(it.id) & 0xFFFFFFFF])
    try:
        if p.source in ("pointcloud_ply", "pointclouds"):
            pts = read_ply_points(it.path) if p.source == "pointcloud_ply" else _listed_cloud(it)
            fields = _pointcloud_fields(pts, -np.ones(len(pts), dtype=np.int64), p, rng)
        elif p.source == "shapenet_part":
            pts, lab = read_part_shape(it.path, it.extra["seg_path"])
            fields = _pointcloud_fields(pts, lab, p, rng)
        else:
            fields = _mesh_fields(it.path, p, rng)
        for k, v in fields.items():
            if v.dtype.kind == "f" and not np.isfinite(v).all():
                raise BadInputError(it.path, f"non-finite values in ground truth '{k}'")
        if ("voxels" in fields and not fields["voxels"].any()) or (p.field == "sdf"
                                                                   and not (fields["values"] < 0).any()):
            raise BadInputError(it.path, f"no inside: the {p.field} field of this mesh is empty (an open surface?)")
    except BadInputError as exc:
        return {"id": it.id, "source": str(it.path), "reason": exc.reason}
    return ShapeRecord(it.id, str(it.path), it.class_name, it.split, fields)


def _listed_cloud(it) -> np.ndarray:
    """The points of a ``pointclouds`` item (a file, or a row of an HDF5 release)."""
    from .pointclouds import CloudItem, load_cloud

    return load_cloud(CloudItem(it.id, it.path, it.class_name, it.split, it.extra.get("row"))).points


# ----------------------------------------------------------------- image sources
def image_records(p: DatasetParams) -> tuple[pd.DataFrame, np.ndarray]:
    """MNIST (idx files under ``root``, see :mod:`.mnist`) or scikit-learn digits: index table and
    images [N,H,W,1] in [0,1]."""
    official = None  # the split given by the files ("train"/"test" per item), if any
    if p.source == "digits":
        images, labels = load_sklearn_digits()
        sources = [f"sklearn:digits#{i}" for i in range(len(labels))]
    else:
        if not p.root:
            raise ConfigError("param 'root': source 'mnist' needs the directory with the idx files")
        mnist = read_mnist_folder(Path(p.root), p.images, p.labels)
        images = mnist.images.astype(np.float32) / 255.0
        labels, sources, official = mnist.labels, mnist.sources, mnist.official
    classes = [str(int(c)) for c in labels]
    keep = cap_per_class(labels, p.n_per_class, official)
    ids = [f"{p.source}_{i:05d}" for i in keep]
    if official is None:
        splits = assign_splits(ids, [classes[i] for i in keep], p.split.val, p.split.test, p.seed)
    else:  # official test set; validation carved from the official train set
        splits = official_splits(ids, [classes[i] for i in keep], official[keep], p.split.val, p.seed)
    df = pd.DataFrame({"id": ids, "source": [sources[i] for i in keep],
                       "class_name": [classes[i] for i in keep], "split": splits})
    return df, images[keep][..., None].astype(np.float32)


# ------------------------------------------------------------------------ driver
def prepare_dataset(p: DatasetParams, out_dir: Path) -> dict:
    """Run preprocessing for one dataset and write ``out_dir`` (see module docstring)."""
    out_dir = Path(out_dir)
    rejected: list[dict] = []
    if p.field == "pixels":
        index, images = image_records(p)
        tensors = {"images": torch.from_numpy(images)}
    else:
        records, rejected = procedural_records(p) if p.source == "procedural" else layout_records(p)
        if not records:
            raise BadInputError(p.root or p.source, _all_rejected(out_dir, rejected))
        index = pd.DataFrame({"id": [r.id for r in records], "source": [r.source for r in records],
                              "class_name": [r.class_name for r in records], "split": [r.split for r in records]})
        tensors = {k: torch.from_numpy(np.stack([r.fields[k] for r in records])) for k in records[0].fields}
    class_names = sorted(index["class_name"].unique(), key=_class_sort_key(p))
    index.insert(3, "class_id", index["class_name"].map({c: i for i, c in enumerate(class_names)}))
    meta = {"kind": p.field, "source": p.source, "classes": class_names, "clip": p.clip,
            "resolution": p.resolution, "count": int(len(index)), "rejected": len(rejected),
            "splits": index["split"].value_counts().to_dict()}
    write_tensors(out_dir / "fields.safetensors", tensors)
    write_csv(out_dir / "rejected.csv", pd.DataFrame(rejected, columns=["id", "source", "reason"]))
    write_json(out_dir / "meta.json", meta)
    write_csv(out_dir / "index.csv", index)
    (out_dir / FAILED_REJECTED).unlink(missing_ok=True)  # a failed run's list, now out of date
    return meta


FAILED_REJECTED = "rejected.failed.csv"


def _all_rejected(out_dir: Path, rejected: list[dict]) -> str:
    """Write the rejected list of a run with no usable item and return the one-line reason: the
    number of items, their most common reasons and where the list is. The list goes to
    ``rejected.csv``, or to ``rejected.failed.csv`` when ``out_dir`` holds the outputs of an earlier
    successful run (``index.csv``), which are left untouched."""
    if not rejected:
        return "no item to preprocess"
    path = out_dir / (FAILED_REJECTED if (out_dir / "index.csv").is_file() else "rejected.csv")
    write_csv(path, pd.DataFrame(rejected, columns=["id", "source", "reason"]))
    kinds = Counter(re.split(r"[:(]", r["reason"])[0].strip() for r in rejected)
    top = ", ".join(f"{k} ({n})" for k, n in kinds.most_common(3)) + (", ..." if len(kinds) > 3 else "")
    return f"no usable item: all {len(rejected)} items rejected ({top}); reasons in {path}"


def _class_sort_key(p: DatasetParams):
    if p.source == "procedural":
        order = {c: i for i, c in enumerate(proc.CLASSES)}
        return lambda c: (order.get(c, 1 << 30), c)
    if p.field == "pixels":
        return lambda c: int(c)
    return lambda c: c

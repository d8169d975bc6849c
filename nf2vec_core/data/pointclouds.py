"""Point-cloud releases on disk -> a typed listing of clouds, and loaders of float32 ``[N,3]`` points.

Layouts (``root`` is the folder named ``.`` below; :func:`scan_clouds` detects which, ``layout=``
forces one):

* ``folders`` -- ``./<class>/<split>/*.{npy,txt,pcd,ply}`` (split folder names as in
  :mod:`nf2vec_core.data.items`: ``train/training``, ``val/valid/validation``, ``test/testing``),
  also ``./<class>/*.ext`` (split None) and an unlabelled flat folder ``./*.ext`` (class and split
  None). The listing's ``layout`` says which: ``class_split``, ``class`` or ``flat``. Files directly
  under the root of a class-folder tree (a README.txt) are ignored; a tree mixing formats or depths
  is rejected (``ext=`` picks one format).
* ``normal_resampled`` -- ``modelnet40_normal_resampled``: ``./modelnet40_shape_names.txt`` (one class
  per line), ``./modelnet40_{train,test}.txt`` (one ``<class>_NNNN`` per line) and the clouds
  ``./<class>/<class>_NNNN.txt`` (comma-separated ``x,y,z,nx,ny,nz``). Only listed files are items.
  The release also carries ``modelnet10_*`` lists: ``prefix="modelnet10"`` selects them.
* ``hdf5`` -- ``modelnet40_ply_hdf5_2048``: ``./ply_data_{train,test}<k>.h5`` (any ``*.h5``/``*.hdf5``
  at the root; split from ``train``/``val``/``test`` in the file name) holding ``data`` float
  ``[M,N,3]``, ``label`` integers ``[M]`` or ``[M,1]`` (0-based indices into ``./shape_names.txt``)
  and optionally ``normal`` ``[M,N,3]``. A file without ``label`` gives unlabelled items.

Conventions: items are sorted by ``id`` -- the path relative to the root without the suffix, or
``<h5 file stem>/<row>`` (zero-padded) for HDF5 rows; ``classes`` is the label space in a stable
order (the shape-names file's order where the release has one, else sorted class folder names;
empty when unlabelled). Points come back as float32 ``[N,3]`` and normals, when asked for and
present (6-column txt/npy, ``nx ny nz`` PLY properties, ``normal_x ...`` PCD fields, HDF5
``normal``), as float32 ``[N,3]``. Every unusable file raises
:class:`~nf2vec_core.errors.BadInputError` naming the file (``file.h5[row]`` for an HDF5 row) and
the reason; dataset code records the item as rejected and goes on.

Formats: ``.npy`` via ``np.load(allow_pickle=False)``, ``[N,3]`` or ``[N,6]``; ``.txt`` comma- or
whitespace-separated, 3 or 6 columns, ``#`` comments; ``.ply`` via trimesh (the vertices; faces are
ignored); ``.pcd`` (PCL, ``ascii``/``binary``/``binary_compressed``) via ``pypcd4``, with the point
count checked against the header; HDF5 via ``h5py``, each file's arrays read once and kept for the
next rows (a small cache shared by :func:`load_cloud` calls in a process).
"""
from __future__ import annotations

import os
import re
import warnings
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

import numpy as np
from tqdm import tqdm

from ..errors import BadInputError, ConfigError
from .items import SPLIT_ALIASES, UNKNOWN, Item
from .readers import _check_points, _trimesh_load

CLOUD_SUFFIXES = (".npy", ".txt", ".pcd", ".ply")
H5_SUFFIXES = (".h5", ".hdf5")
LAYOUTS = ("auto", "folders", "normal_resampled", "hdf5")
H5_CACHE_FILES = 2  # HDF5 files whose arrays stay in memory per process (rows are read file by file)
_FOLDERS_EXPECTED = "<class>/<split>/*.ext, <class>/*.ext or *.ext with ext in " + "/".join(CLOUD_SUFFIXES)


# ------------------------------------------------------------------------ types
@dataclass(frozen=True)
class CloudItem:
    """One listed cloud: unique ``id``, the file holding it, ``class_name`` and ``split`` (None when
    the layout does not say) and, for an HDF5 release, its ``row`` in the file's ``data``."""

    id: str
    path: Path
    class_name: Optional[str]
    split: Optional[str]
    row: Optional[int] = None

    @property
    def source(self) -> str:
        """Where the cloud lives, for messages and index tables: the path, or ``path[row]``."""
        return str(self.path) if self.row is None else f"{self.path}[{self.row}]"


@dataclass(frozen=True)
class CloudListing:
    """The clouds found under ``root``: detected ``layout``, the label space ``classes`` and ``items``."""

    root: Path
    layout: str
    classes: tuple[str, ...]
    items: tuple[CloudItem, ...]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[CloudItem]:
        return iter(self.items)

    @property
    def labelled(self) -> bool:
        return bool(self.classes)

    def labels(self) -> np.ndarray:
        """int64 ``[len]``: each item's index in ``classes`` (-1 when unlabelled)."""
        index = {c: i for i, c in enumerate(self.classes)}
        return np.array([index.get(it.class_name, -1) for it in self.items], dtype=np.int64)

    def to_items(self) -> list[Item]:
        """Labelled clouds as :class:`~nf2vec_core.data.items.Item` (split None -> ``"unknown"``,
        ``extra["row"]`` for an HDF5 row); an unlabelled listing raises BadInputError."""
        if not self.labelled:
            raise BadInputError(self.root, f"unlabelled point clouds ({self.layout} layout): a dataset needs "
                                           f"class folders ({_FOLDERS_EXPECTED}) or a release with labels")
        return [Item(it.id, it.path, it.class_name, it.split or UNKNOWN, {} if it.row is None else {"row": it.row})
                for it in self.items]


@dataclass(frozen=True, eq=False)
class Cloud:
    """A loaded cloud: ``points`` float32 ``[N,3]``; ``normals`` float32 ``[N,3]`` or None."""

    points: np.ndarray
    normals: Optional[np.ndarray] = None


# ---------------------------------------------------------------------- scanning
def scan_clouds(root: str | Path, layout: str = "auto", *, ext: Optional[str] = None,
                prefix: Optional[str] = None) -> CloudListing:
    """List the point clouds under ``root`` (see the module docstring for the layouts).

    ``layout="auto"`` picks ``hdf5`` when the root holds ``*.h5``/``*.hdf5`` files,
    ``normal_resampled`` when it holds a ``*_shape_names.txt``, else ``folders``. ``ext``
    (``"npy"``/``".npy"``, ...) restricts the folder family to one format; ``prefix`` picks the
    ``<prefix>_shape_names.txt`` lists of a normal-resampled release (default ``modelnet40``).
    """
    root = Path(root)
    if not root.is_dir():
        raise BadInputError(root, "point-cloud root not found (not a directory)")
    if layout not in LAYOUTS:
        raise ConfigError(f"param 'layout': unknown point-cloud layout {layout!r}; expected one of {LAYOUTS}")
    if layout == "auto":
        names = [e.name for e in os.scandir(root) if e.is_file() and not e.name.startswith(".")]
        if any(n.lower().endswith(H5_SUFFIXES) for n in names):
            layout = "hdf5"
        elif any(n.endswith("_shape_names.txt") for n in names):
            layout = "normal_resampled"
        else:
            layout = "folders"
    if layout == "hdf5":
        return _scan_hdf5(root)
    if layout == "normal_resampled":
        return _scan_normal_resampled(root, prefix)
    return _scan_folders(root, ext)


def _finish(root: Path, layout: str, classes: Sequence[str], items: list[CloudItem], expected: str) -> CloudListing:
    """Sort by id; raise on an empty scan or duplicate ids."""
    if not items:
        raise BadInputError(root, f"no point clouds found: expected {expected}")
    items.sort(key=lambda it: it.id)
    dup = next((a.id for a, b in zip(items, items[1:]) if a.id == b.id), None)
    if dup is not None:
        raise BadInputError(root, f"duplicate item id {dup!r}")
    return CloudListing(root, layout, tuple(classes), tuple(items))


def _walk(root: Path, depth: int) -> list[tuple[str, ...]]:
    """Relative parts of the visible files at most ``depth`` levels below ``root`` (hidden files and
    folders and ``__MACOSX`` debris skipped)."""
    found, stack = [], [((), root)]
    while stack:
        parts, folder = stack.pop()
        with os.scandir(folder) as entries:
            for e in entries:
                if e.name.startswith(".") or e.name == "__MACOSX":
                    continue
                if e.is_dir():
                    if len(parts) + 1 < depth:
                        stack.append(((*parts, e.name), Path(e.path)))
                elif e.is_file():
                    found.append((*parts, e.name))
    return found


def _why(exc: BaseException, limit: int = 200) -> str:
    """``"<ExceptionType>: <message>"`` on one line, cut to ``limit`` characters (library messages can
    span lines, e.g. pydantic's)."""
    text = f"{exc.__class__.__name__}: {' '.join(str(exc).split())}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _suffix(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def _scan_folders(root: Path, ext: Optional[str]) -> CloudListing:
    if ext is not None:
        ext = "." + ext.lower().lstrip(".")
        if ext not in CLOUD_SUFFIXES:
            raise ConfigError(f"param 'ext': unsupported point-cloud format {ext!r} (expected one of {CLOUD_SUFFIXES})")
    files = [p for p in _walk(root, 3) if _suffix(p[-1]) in ((ext,) if ext else CLOUD_SUFFIXES)]
    if not files:
        raise BadInputError(root, f"no point clouds found: expected {_FOLDERS_EXPECTED}")
    depth = max(len(p) for p in files)
    deepest = [p for p in files if len(p) == depth]
    formats = Counter(_suffix(p[-1]) for p in deepest)
    if len(formats) > 1:
        counts = ", ".join(f"{s}: {n} files" for s, n in sorted(formats.items()))
        raise BadInputError(root, f"mixed point-cloud formats ({counts}); pass ext= to pick one")
    suffix = next(iter(formats))
    shallower = [p for p in files if 1 < len(p) < depth and _suffix(p[-1]) == suffix]
    if shallower:
        raise BadInputError(root, f"ambiguous layout: both <class>/<split>/*{suffix} and <class>/*{suffix} files "
                                  f"(e.g. {'/'.join(shallower[0])!r})")
    items = []
    for parts in deepest:
        split = None
        if depth == 3:
            split = SPLIT_ALIASES.get(parts[1].lower())
            if split is None:
                raise BadInputError(root / parts[0] / parts[1], "unrecognised split folder (expected one of "
                                                               f"{sorted(SPLIT_ALIASES)})")
        rel = "/".join(parts)
        items.append(CloudItem(rel[: -len(suffix)], root.joinpath(*parts), parts[0] if depth > 1 else None, split))
    kind = {3: "class_split", 2: "class", 1: "flat"}[depth]
    classes = sorted({it.class_name for it in items}) if depth > 1 else []
    return _finish(root, kind, classes, items, _FOLDERS_EXPECTED)


def _read_names(path: Path) -> list[str]:
    """Non-blank stripped lines of a list file (shape names, split lists)."""
    if not path.is_file():
        raise BadInputError(path, "file not found")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(path, f"unreadable list file ({_why(exc)})") from exc
    return [ln.strip() for ln in lines if ln.strip()]


def _shape_names(path: Path) -> list[str]:
    names = _read_names(path)
    if not names:
        raise BadInputError(path, "no class names (expected one per line)")
    dup = [n for n, k in Counter(names).items() if k > 1]
    if dup:
        raise BadInputError(path, f"class name {dup[0]!r} listed twice")
    return names


def _scan_normal_resampled(root: Path, prefix: Optional[str]) -> CloudListing:
    expected = "<prefix>_shape_names.txt with <prefix>_{train,test}.txt and <class>/<class>_NNNN.txt"
    if prefix is None:
        found = sorted(p.name[: -len("_shape_names.txt")] for p in root.glob("*_shape_names.txt"))
        if not found:
            raise BadInputError(root, f"no *_shape_names.txt: expected {expected}")
        if "modelnet40" not in found and len(found) > 1:
            raise BadInputError(root, f"several shape-name lists {found}; pass prefix= to pick one")
        prefix = "modelnet40" if "modelnet40" in found else found[0]
    names_file = root / f"{prefix}_shape_names.txt"
    classes = _shape_names(names_file)
    known = set(classes)
    split_files = [(s, root / f"{prefix}_{s}.txt") for s in ("train", "val", "test")]
    split_files = [(s, f) for s, f in split_files if f.is_file()]
    if not split_files:
        raise BadInputError(root, f"no split files {prefix}_{{train,test}}.txt next to {names_file.name}")
    items, seen = [], {}
    for split, f in split_files:
        for line_no, entry in enumerate(_read_names(f), 1):
            cls = entry.rsplit("_", 1)[0]
            if "_" not in entry or cls not in known:
                raise BadInputError(f, f"line {line_no}: unknown class {cls!r} in {entry!r} "
                                       f"(not in {names_file.name})")
            if entry in seen:
                raise BadInputError(f, f"line {line_no}: {entry!r} already listed in {seen[entry].name}")
            seen[entry] = f
            items.append(CloudItem(f"{cls}/{entry}", root / cls / f"{entry}.txt", cls, split))
    return _finish(root, "normal_resampled", classes, items, expected)


def _h5py():
    import h5py  # imported on use: only HDF5 releases need it
    return h5py


def _split_from_name(name: str) -> Optional[str]:
    m = re.search(r"(train|val|test)", name.lower())
    return m.group(1) if m else None


def _scan_hdf5(root: Path) -> CloudListing:
    h5py = _h5py()
    expected = "ply_data_{train,test}<k>.h5 with 'data' [M,N,3] and 'label' [M] (modelnet40_ply_hdf5_2048)"
    files = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in H5_SUFFIXES
                   and not p.name.startswith("."))
    names_file = root / "shape_names.txt"
    classes: Optional[list[str]] = None
    items = []
    for path in files:
        try:
            with h5py.File(path, "r") as f:
                data = f.get("data")
                if not isinstance(data, h5py.Dataset):
                    raise BadInputError(path, "no 'data' dataset (expected [M,N,3] points)")
                shape = data.shape
                label = f["label"][()] if isinstance(f.get("label"), h5py.Dataset) else None
        except BadInputError:
            raise
        except Exception as exc:  # h5py raises OSError/KeyError/ValueError on corrupt files
            raise BadInputError(path, f"unreadable HDF5 file ({_why(exc)})") from exc
        if len(shape) != 3 or shape[2] not in (3, 6) or shape[0] == 0 or shape[1] == 0:
            raise BadInputError(path, f"'data' has shape {shape}, expected [M,N,3] (or [M,N,6] with normals)")
        labels = None
        if label is not None:
            if classes is None:
                if not names_file.is_file():
                    raise BadInputError(names_file, f"file not found (names the labels of {path.name})")
                classes = _shape_names(names_file)
            labels = _h5_labels(path, label, shape[0], len(classes), names_file)
        width = max(4, len(str(shape[0] - 1)))
        split = _split_from_name(path.stem)
        items.extend(CloudItem(f"{path.stem}/{r:0{width}d}", path,
                               classes[labels[r]] if labels is not None else None, split, r)
                     for r in range(shape[0]))
    if any(it.class_name is None for it in items) and any(it.class_name is not None for it in items):
        raise BadInputError(root, "some HDF5 files have 'label' and others do not")
    if not any(it.class_name for it in items):
        classes = []
    return _finish(root, "hdf5", classes or [], items, expected)


def _h5_labels(path: Path, label: np.ndarray, count: int, n_classes: int, names_file: Path) -> np.ndarray:
    label = np.asarray(label)
    if label.dtype.kind not in "iuf" or label.size != count or (label.ndim == 2 and label.shape[1] != 1) \
            or label.ndim > 2:
        raise BadInputError(path, f"'label' has shape {label.shape} ({label.dtype}), expected [{count}] or "
                                  f"[{count},1] integers")
    label = label.reshape(-1)
    if label.dtype.kind == "f" and not (np.isfinite(label).all() and (label == np.round(label)).all()):
        raise BadInputError(path, "'label' holds non-integer values")
    label = label.astype(np.int64)
    bad = np.flatnonzero((label < 0) | (label >= n_classes))
    if bad.size:
        raise BadInputError(path, f"label {label[bad[0]]} of row {bad[0]} out of range for the {n_classes} "
                                  f"names in {names_file.name}")
    return label


# ----------------------------------------------------------------------- loading
def read_cloud(path: str | Path, normals: bool = False) -> Cloud:
    """One point-cloud file by suffix (``.npy``, ``.txt``, ``.pcd``, ``.ply``), validated: non-empty,
    finite, not all points coincident or collinear. ``normals=True`` also returns the file's normals
    (None when it has none)."""
    path = Path(path)
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None:
        raise BadInputError(path, f"unsupported point-cloud format {suffix!r} (expected one of {CLOUD_SUFFIXES})")
    if not path.is_file():
        raise BadInputError(path, "file not found")
    if path.stat().st_size == 0:
        raise BadInputError(path, "empty file")
    pts, nrm = reader(path)
    return _cloud(path, pts, nrm if normals else None)


def read_points(path: str | Path) -> np.ndarray:
    """The points float32 ``[N,3]`` of one file (see :func:`read_cloud`)."""
    return read_cloud(path).points


def load_cloud(item: CloudItem, normals: bool = False) -> Cloud:
    """The cloud of one listed item: its file, or its row of an HDF5 file (whose arrays are read once
    and kept in a small per-process cache, so rows of one file are loaded together)."""
    if item.row is None:
        return read_cloud(item.path, normals)
    data, nrm = _h5_arrays(item.path, normals)
    if not 0 <= item.row < len(data):
        raise BadInputError(item.source, f"row out of range ({len(data)} rows)")
    return _cloud(item.source, data[item.row], None if nrm is None else nrm[item.row])


def load_clouds(items: Iterable[CloudItem], normals: bool = False, progress: bool = True) -> list[Cloud]:
    """:func:`load_cloud` of each item, in order (raises on the first unusable one)."""
    items = list(items)
    return [load_cloud(it, normals) for it in tqdm(items, desc="load point clouds", unit="cloud",
                                                    disable=not progress)]


def _cloud(where: str | Path, pts: np.ndarray, nrm: Optional[np.ndarray]) -> Cloud:
    """Validated float32 points (and normals, when given) as a :class:`Cloud` owning its arrays."""
    pts = np.array(pts, dtype=np.float32, copy=True)
    _check_points(where, pts)
    if nrm is not None:
        nrm = np.array(nrm, dtype=np.float32, copy=True)
        if nrm.shape != pts.shape:
            raise BadInputError(where, f"normals of shape {nrm.shape} for points {pts.shape}")
        if not np.isfinite(nrm).all():
            raise BadInputError(where, "normals contain NaN/inf")
    return Cloud(pts, nrm)


def _columns(path: Path, arr: np.ndarray) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """``[N,3]`` -> points; ``[N,6]`` -> points and normals; anything else is rejected."""
    if arr.ndim != 2 or arr.shape[1] not in (3, 6):
        raise BadInputError(path, f"array of shape {arr.shape}, expected [N,3] (xyz) or [N,6] (xyz + normals)")
    if arr.dtype.kind not in "fiu":
        raise BadInputError(path, f"array of dtype {arr.dtype}, expected numbers")
    return arr[:, :3], (arr[:, 3:] if arr.shape[1] == 6 else None)


def _read_npy(path: Path) -> tuple[np.ndarray, Optional[np.ndarray]]:
    try:
        with open(path, "rb") as f:
            magic = f.read(6)
    except OSError as exc:
        raise BadInputError(path, f"unreadable .npy ({_why(exc)})") from exc
    if magic != b"\x93NUMPY":  # np.load would take it for a pickle
        raise BadInputError(path, "not a .npy file (no \\x93NUMPY magic)")
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:  # truncated, not .npy, or a pickled object array
        raise BadInputError(path, f"unreadable .npy ({_why(exc)})") from exc
    if not isinstance(arr, np.ndarray):
        raise BadInputError(path, "not a single .npy array")
    return _columns(path, arr)


def _read_txt(path: Path) -> tuple[np.ndarray, Optional[np.ndarray]]:
    try:
        with open(path, encoding="utf-8") as f:
            first = next((ln for ln in f if ln.strip() and not ln.lstrip().startswith("#")), "")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data" -> empty, rejected below
            arr = np.loadtxt(path, dtype=np.float32, delimiter="," if "," in first else None, ndmin=2)
    except (OSError, ValueError) as exc:  # includes UnicodeDecodeError and ragged rows
        raise BadInputError(path, f"unreadable point-cloud text ({_why(exc)})") from exc
    if arr.size == 0:
        raise BadInputError(path, "no points (no data lines)")
    return _columns(path, arr)


def _fields(data, names: Sequence[str]) -> Optional[np.ndarray]:
    """``[N,len(names)]`` from a record-like (dict of arrays / structured array), or None if a name is absent."""
    have = set(data) if isinstance(data, dict) else set(getattr(getattr(data, "dtype", None), "names", None) or ())
    if not set(names) <= have:
        return None
    return np.stack([np.asarray(data[n], dtype=np.float64).reshape(-1) for n in names], axis=1)


def _read_ply(path: Path) -> tuple[np.ndarray, Optional[np.ndarray]]:
    loaded = _trimesh_load(path, "point cloud")
    raw = getattr(loaded, "metadata", {}).get("_ply_raw", {}).get("vertex", {}).get("data")
    verts = getattr(loaded, "vertices", None)
    if verts is None:  # a scene: the raw vertex element still holds the points
        verts = _fields(raw, ("x", "y", "z")) if raw is not None else None
    if verts is None:
        raise BadInputError(path, "no vertices in PLY file")
    verts = np.asarray(verts, dtype=np.float64).reshape(-1, 3)
    nrm = _fields(raw, ("nx", "ny", "nz")) if raw is not None else None
    return verts, (nrm if nrm is not None and len(nrm) == len(verts) else None)


def _read_pcd(path: Path) -> tuple[np.ndarray, Optional[np.ndarray]]:
    from pypcd4 import PointCloud  # imported on use (pydantic models): only .pcd files need it

    try:
        pc = PointCloud.from_path(path)
        data, meta = pc.pc_data, pc.metadata
    except Exception as exc:  # pypcd4 raises pydantic, struct, lzf, numpy and decode errors
        raise BadInputError(path, f"unreadable PCD ({_why(exc)})") from exc
    if len(data) != meta.points:
        raise BadInputError(path, f"truncated: header announces {meta.points} points, file holds {len(data)}")
    pts = _fields(data, ("x", "y", "z"))
    if pts is None:
        raise BadInputError(path, f"PCD fields {tuple(meta.fields)} lack x, y, z")
    return pts, _fields(data, ("normal_x", "normal_y", "normal_z"))


_READERS = {".npy": _read_npy, ".txt": _read_txt, ".pcd": _read_pcd, ".ply": _read_ply}

_H5_CACHE: "OrderedDict[tuple, tuple[np.ndarray, Optional[np.ndarray]]]" = OrderedDict()


def _h5_arrays(path: Path, normals: bool) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """``data`` ``[M,N,3]`` (and ``normal`` when asked for and present) of one HDF5 file, read once:
    the last :data:`H5_CACHE_FILES` files stay in memory, keyed by path, size and mtime."""
    try:
        st = path.stat()
    except OSError as exc:
        raise BadInputError(path, "file not found") from exc
    key = (str(path), st.st_size, st.st_mtime_ns, normals)
    if key in _H5_CACHE:
        _H5_CACHE.move_to_end(key)
        return _H5_CACHE[key]
    h5py = _h5py()
    try:
        with h5py.File(path, "r") as f:
            data = np.asarray(f["data"][()])
            nrm = np.asarray(f["normal"][()]) if normals and isinstance(f.get("normal"), h5py.Dataset) else None
    except Exception as exc:  # h5py raises OSError/KeyError/ValueError on corrupt files
        raise BadInputError(path, f"unreadable HDF5 file ({_why(exc)})") from exc
    if data.ndim != 3 or data.shape[2] not in (3, 6) or data.dtype.kind not in "fiu":
        raise BadInputError(path, f"'data' has shape {data.shape} ({data.dtype}), expected [M,N,3] numbers")
    if data.shape[2] == 6:
        data, nrm = data[..., :3], (data[..., 3:] if normals else None)
    if nrm is not None and nrm.shape != data.shape:
        raise BadInputError(path, f"'normal' has shape {nrm.shape}, expected {data.shape}")
    _H5_CACHE[key] = (data, nrm)
    while len(_H5_CACHE) > H5_CACHE_FILES:
        _H5_CACHE.popitem(last=False)
    return data, nrm


def clear_cache() -> None:
    """Forget the HDF5 arrays kept by :func:`load_cloud`."""
    _H5_CACHE.clear()

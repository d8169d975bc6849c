"""Single-file readers for the dataset formats users already have; every failure names the file and why.

Conventions:

* meshes come back as :class:`Mesh` -- vertices float32 ``[V,3]``, triangles int64 ``[F,3]``
  (0-based indices; polygons with more than 3 corners are triangulated as fans ``(p0, pk, pk+1)``);
* point clouds as float32 ``[N,3]``; ShapeNet-Part labels as int64 ``[N]`` (the file's own values,
  1-based in the benchmark);
* MNIST as uint8 images ``[N,28,28]`` with int64 labels ``[N]``.

Every reader raises :class:`~nf2vec_core.errors.BadInputError` ``(path, reason)`` on an unreadable,
empty, truncated, non-finite or degenerate file (zero total area, fewer than 4 vertices, all
vertices collinear; for OFF and ASCII PLY, more or fewer data lines than the header announces), so
dataset code can log the item as rejected and go on. :meth:`Mesh.require_volume` also rejects a
mesh with no volume (all vertices coplanar) where a field needs an inside.
"""
from __future__ import annotations

import gzip
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import trimesh

from ..errors import BadInputError

MIN_VERTICES = 4
TRIMESH_SUFFIXES = (".obj", ".ply", ".stl", ".glb", ".gltf")
_COMMENT = re.compile(r"#[^\n\r]*")
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")


# ------------------------------------------------------------------------- mesh
@dataclass(frozen=True, eq=False)
class Mesh:
    """A triangle mesh: ``vertices`` float32 ``[V,3]``, ``faces`` int64 ``[F,3]`` (0-based)."""

    vertices: np.ndarray
    faces: np.ndarray

    def __post_init__(self) -> None:
        v = np.asarray(self.vertices, dtype=np.float32)
        f = np.asarray(self.faces, dtype=np.int64)
        if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3:
            raise ValueError(f"Mesh needs vertices [V,3] and faces [F,3], got {v.shape} and {f.shape}")
        object.__setattr__(self, "vertices", v)
        object.__setattr__(self, "faces", f)

    def to_trimesh(self) -> trimesh.Trimesh:
        """The same mesh as a ``trimesh.Trimesh`` (no merging or reordering: ``process=False``)."""
        return trimesh.Trimesh(self.vertices, self.faces, process=False)

    @property
    def is_watertight(self) -> bool:
        """True when every edge is shared by exactly two consistently wound faces (trimesh)."""
        return bool(self.to_trimesh().is_watertight)

    def validate(self, path: str | Path | None) -> "Mesh":
        """Return ``self``, or raise BadInputError naming ``path`` when the mesh is unusable.

        Rejected: no faces, non-finite coordinates, face indices out of range, fewer than
        :data:`MIN_VERTICES` vertices, all vertices collinear, total face area zero.
        """
        v, f = self.vertices, self.faces
        if len(v) == 0 or len(f) == 0:
            raise BadInputError(path, f"empty mesh ({len(v)} vertices, {len(f)} faces)")
        if not np.isfinite(v).all():
            raise BadInputError(path, "vertex coordinates contain NaN/inf")
        if f.min() < 0 or f.max() >= len(v):
            raise BadInputError(path, f"face index out of range [{f.min()}, {f.max()}] for {len(v)} vertices")
        if len(v) < MIN_VERTICES:
            raise BadInputError(path, f"degenerate mesh: only {len(v)} vertices (need >= {MIN_VERTICES})")
        if _rank(v) < 2:
            raise BadInputError(path, "degenerate mesh: all vertices are collinear")
        tri = v[f].astype(np.float64)
        area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum()
        if not area > 0:
            raise BadInputError(path, "degenerate mesh: every face has zero area")
        return self

    def require_volume(self, path: str | Path | None) -> "Mesh":
        """Return ``self``, or raise BadInputError when the vertices span no volume (all coplanar): such a
        mesh has a surface (a UDF) but no inside, so no occupancy or SDF."""
        if _rank(self.vertices) < 3:
            raise BadInputError(path, "zero-volume mesh: all vertices are coplanar (no inside for an "
                                      "occupancy or SDF field)")
        return self


def _rank(points: np.ndarray) -> int:
    """Affine rank (0 point, 1 line, 2 plane, 3 volume) of ``points`` [N,3], relative tolerance."""
    p = points.astype(np.float64)
    p = p - p.mean(axis=0)
    s = np.linalg.svd(p.T @ p / max(len(p), 1), compute_uv=False)  # eigenvalues of the 3x3 covariance
    if s[0] <= 0:
        return 0
    return int((s > s[0] * 1e-12).sum())


def _fan(counts: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Fan-triangulate polygons: ``corners`` int64 ``[F,K]`` (padded), ``counts`` ``[F]`` -> ``[T,3]``.

    Triangle ``(p0, pk, pk+1)`` for ``k = 1..count-2``; output keeps the file's face order (the
    triangles of face ``i`` precede those of face ``i+1``). Loops over ``k`` only, not over faces.
    """
    tris, owner = [], []
    for k in range(1, corners.shape[1] - 1):
        m = np.flatnonzero(counts > k + 1)
        tris.append(np.stack([corners[m, 0], corners[m, k], corners[m, k + 1]], axis=1))
        owner.append(m)
    if not tris:
        return np.zeros((0, 3), dtype=np.int64)
    order = np.argsort(np.concatenate(owner), kind="stable")
    return np.concatenate(tris)[order]


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise BadInputError(path, "file not found")
    try:
        return path.read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise BadInputError(path, f"not a text file ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise BadInputError(path, f"unreadable ({exc.__class__.__name__}: {exc})") from exc


def read_off(path: str | Path) -> Mesh:
    """Read an Object File Format mesh (ModelNet10/40) into a validated :class:`Mesh`.

    Accepts the standard header (``OFF`` then ``V F E`` on the next line), the malformed ModelNet
    header with the counts glued to ``OFF`` (``OFF490 518 0``), ``#`` comments, blank lines,
    trailing columns (colours) on vertex and face lines, and polygons of any size (fan-triangulated).
    Vertex and all-triangle face blocks are parsed in one vectorised call each; mixed polygon sizes
    fall back to a per-face split.
    """
    path = Path(path)
    text = _COMMENT.sub("", _read_text(path))
    if not text.strip():
        raise BadInputError(path, "empty file")
    lines = _NEWLINES.split(text.strip())  # non-blank lines, stripped (one C-level split)
    first = lines[0].strip()
    if not first.upper().startswith("OFF"):
        raise BadInputError(path, f"not an OFF file (header is {first[:20]!r}, expected 'OFF')")
    head, body = first[3:].split(), lines[1:]
    if not head:  # standard header: counts on their own line
        if not body:
            raise BadInputError(path, "truncated: no element counts after the 'OFF' header")
        head, body = body[0].split(), body[1:]
    try:
        nv, nf = int(head[0]), int(head[1])
    except (ValueError, IndexError) as exc:
        raise BadInputError(path, f"bad element counts {' '.join(head)!r} (expected 'V F E')") from exc
    if nv <= 0 or nf <= 0:
        raise BadInputError(path, f"empty mesh (header announces {nv} vertices and {nf} faces)")
    _check_data_lines(path, len(body), nv + nf, f"{nv} vertices and {nf} faces")
    verts = _parse_off_vertices(path, body[:nv])
    faces = _parse_off_faces(path, body[nv:nv + nf])
    return Mesh(verts, faces).validate(path)


def _check_data_lines(path: Path, found: int, expected: int, announced: str) -> None:
    """Raise when a file holds another number of data lines than its header announces."""
    if found != expected:
        raise BadInputError(path, f"{'truncated' if found < expected else 'wrong element counts'}: header "
                                  f"announces {announced} ({expected} data lines), file has {found}")


def _parse_off_vertices(path: Path, lines: list[str]) -> np.ndarray:
    flat = " ".join(lines).split()
    try:
        if len(flat) == 3 * len(lines):
            return np.array(flat, dtype=np.float32).reshape(-1, 3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.loadtxt(lines, dtype=np.float32, usecols=(0, 1, 2), ndmin=2)
    except (ValueError, IndexError) as exc:
        raise BadInputError(path, f"malformed vertex line ({exc})") from exc


def _parse_off_faces(path: Path, lines: list[str]) -> np.ndarray:
    flat = " ".join(lines).split()
    try:
        if len(flat) == 4 * len(lines):
            rows = np.array(flat, dtype=np.int64).reshape(-1, 4)
            if (rows[:, 0] == 3).all():
                return rows[:, 1:]
        # fallback: mixed polygon sizes and/or colour columns -> one split per face
        rows_s = [ln.split() for ln in lines]
        counts = np.array([int(r[0]) for r in rows_s], dtype=np.int64)
    except ValueError as exc:
        raise BadInputError(path, f"malformed face line ({exc})") from exc
    if (counts < 3).any():
        raise BadInputError(path, f"face with fewer than 3 corners (line {int(np.argmax(counts < 3)) + 1} of the faces)")
    short = [i for i, (r, c) in enumerate(zip(rows_s, counts)) if len(r) < c + 1]
    if short:
        raise BadInputError(path, f"face {short[0]} lists fewer indices than its count {counts[short[0]]}")
    kmax = int(counts.max())
    try:
        corners = np.array([r[1:1 + c] + [r[1]] * (kmax - c) for r, c in zip(rows_s, counts)], dtype=np.int64)
    except ValueError as exc:
        raise BadInputError(path, f"malformed face line ({exc})") from exc
    return _fan(counts, corners)


def _check_ascii_ply_counts(path: Path) -> None:
    """Raise when an ASCII PLY's data lines differ in number from the elements its header announces
    (trimesh would read the face lines after a short vertex block as vertices). Binary files and
    files without a complete header are left to trimesh."""
    with path.open("rb") as f:
        head = f.read(4096)
        end = head.find(b"end_header")
        if not head.startswith(b"ply") or end < 0 or b"format ascii" not in head[:end]:
            return
        f.seek(end)
        f.readline()  # the rest of the end_header line
        n_lines = sum(1 for line in f if line.strip())
    elements = [ln.split()[1:3] for ln in head[:end].decode("ascii", "replace").splitlines()
                if ln.startswith("element")]
    try:
        counts = {name: int(n) for name, n in elements}
    except ValueError:
        raise BadInputError(path, f"bad element counts in the PLY header ({elements})") from None
    announced = " and ".join(f"{n} {name!r}" for name, n in counts.items()) + " elements"
    _check_data_lines(path, n_lines, sum(counts.values()), announced)


def _trimesh_load(path: Path, what: str, **kwargs):
    """``trimesh.load`` of an existing, non-empty file (unprocessed, warnings silenced); any failure
    becomes a :class:`BadInputError` naming the file and ``what`` could not be read."""
    if not path.is_file():
        raise BadInputError(path, "file not found")
    if path.stat().st_size == 0:
        raise BadInputError(path, "empty file")
    if path.suffix.lower() == ".ply":
        _check_ascii_ply_counts(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return trimesh.load(str(path), process=False, **kwargs)
    except Exception as exc:  # trimesh raises many exception types on corrupt files
        raise BadInputError(path, f"unreadable {what} ({exc.__class__.__name__}: {exc})") from exc


def _via_trimesh(path: Path) -> Mesh:
    """Load any trimesh-supported mesh file, concatenating scene geometries into one mesh."""
    loaded = _trimesh_load(path, "mesh", force="mesh", skip_materials=True)
    if isinstance(loaded, trimesh.Scene):  # older trimesh may return an empty scene
        geoms = [g for g in loaded.geometry.values() if isinstance(g, trimesh.Trimesh)]
        loaded = trimesh.util.concatenate(geoms) if geoms else None
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) == 0:
        raise BadInputError(path, "empty mesh: no triangles in file")
    if path.suffix.lower() == ".stl":  # STL stores a triangle soup: share coincident corners
        loaded.merge_vertices()
    return Mesh(np.asarray(loaded.vertices), np.asarray(loaded.faces)).validate(path)


def read_obj(path: str | Path) -> Mesh:
    """Wavefront ``.obj`` (ShapeNetCore, Manifold40) as one validated :class:`Mesh`.

    All groups/objects are concatenated; materials are skipped, so a missing ``.mtl`` is fine.
    """
    return _via_trimesh(Path(path))


def read_mesh(path: str | Path) -> Mesh:
    """Any mesh file by suffix: ``.off`` with :func:`read_off`; ``.obj/.ply/.stl/.glb/.gltf`` via trimesh."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".off":
        return read_off(path)
    if suffix in TRIMESH_SUFFIXES:
        return _via_trimesh(path)
    raise BadInputError(path, f"unsupported mesh format {suffix!r} (expected .off or one of {TRIMESH_SUFFIXES})")


# ------------------------------------------------------------------ point clouds
def _check_points(path: str | Path, pts: np.ndarray) -> np.ndarray:
    """Validate a point cloud ``[N,3]``: non-empty, finite, not all coincident/collinear."""
    if pts.ndim != 2 or pts.shape[1] != 3 or len(pts) == 0:
        raise BadInputError(path, f"empty point cloud (array of shape {pts.shape})")
    if not np.isfinite(pts).all():
        raise BadInputError(path, "point coordinates contain NaN/inf")
    rank = _rank(pts)
    if rank < 2:
        raise BadInputError(path, "degenerate point cloud: all points "
                                  + ("coincide" if rank == 0 else "are collinear"))
    return pts


def read_ply_points(path: str | Path) -> np.ndarray:
    """Point cloud float32 ``[N,3]`` from a ``.ply`` (the vertices; any faces are ignored)."""
    path = Path(path)
    loaded = _trimesh_load(path, "point cloud")
    if isinstance(loaded, trimesh.Scene):
        parts = [np.asarray(g.vertices) for g in loaded.geometry.values() if hasattr(g, "vertices")]
        verts = np.concatenate(parts) if parts else np.zeros((0, 3))
    else:
        verts = np.asarray(getattr(loaded, "vertices", np.zeros((0, 3))))
    return _check_points(path, verts.astype(np.float32).reshape(-1, 3) if verts.size else np.zeros((0, 3), np.float32))


def _loadtxt(path: Path, dtype, what: str) -> np.ndarray:
    if not path.is_file():
        raise BadInputError(path, "file not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data" -> handled below
            return np.loadtxt(path, dtype=dtype, ndmin=2)
    except (OSError, ValueError) as exc:
        raise BadInputError(path, f"unreadable {what} ({exc})") from exc


def read_pts(path: str | Path) -> np.ndarray:
    """ShapeNet-Part ``.pts``: one ``x y z`` per line -> float32 ``[N,3]`` (extra columns dropped)."""
    path = Path(path)
    arr = _loadtxt(path, np.float32, ".pts")
    if arr.size and arr.shape[1] < 3:
        raise BadInputError(path, f"expected 3 coordinates per line, found {arr.shape[1]}")
    return _check_points(path, arr[:, :3] if arr.size else np.zeros((0, 3), np.float32))


def read_seg(path: str | Path) -> np.ndarray:
    """ShapeNet-Part ``.seg``: one non-negative integer part label per line -> int64 ``[N]``."""
    path = Path(path)
    arr = _loadtxt(path, np.int64, ".seg")
    if arr.size == 0:
        raise BadInputError(path, "empty label file")
    if arr.shape[1] != 1:
        raise BadInputError(path, f"expected one label per line, found {arr.shape[1]} columns")
    labels = arr[:, 0]
    if labels.min() < 0:
        raise BadInputError(path, f"negative part label {labels.min()}")
    return labels


def read_part_shape(pts_path: str | Path, seg_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """ShapeNet-Part shape: points float32 ``[N,3]`` and part labels int64 ``[N]`` (lengths must agree)."""
    pts, seg = read_pts(pts_path), read_seg(seg_path)
    if len(pts) != len(seg):
        raise BadInputError(seg_path, f"length mismatch: {len(seg)} labels for {len(pts)} points in {pts_path}")
    return pts, seg


# ------------------------------------------------------------------------ images
IDX_IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dims
IDX_LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dim


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """An unsigned-byte idx array (raw or gzip, detected from the content) with its header checked."""
    if not path.is_file():
        raise BadInputError(path, "file not found")
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise BadInputError(path, f"unreadable idx file ({exc.__class__.__name__}: {exc})") from exc
    if len(raw) == 0:
        raise BadInputError(path, "empty file")
    found = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if found != magic:
        raise BadInputError(path, f"bad idx magic number {found if found is None else hex(found)} "
                                  f"(expected {hex(magic)})")
    ndim = magic & 0xFF
    if len(raw) < 4 + 4 * ndim:
        raise BadInputError(path, "truncated idx header")
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise BadInputError(path, f"size mismatch: header says {dims} ({int(np.prod(dims))} bytes), "
                                  f"file holds {data.size} bytes")
    if dims[0] == 0:
        raise BadInputError(path, "empty: header announces 0 items")
    return data.reshape(dims)


def read_mnist_idx(images_path: str | Path, labels_path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """MNIST-style idx files (``.gz`` or raw) -> images uint8 ``[N,H,W]`` (28x28 for MNIST), labels int64 ``[N]``."""
    images = _read_idx(Path(images_path), IDX_IMAGES_MAGIC)
    labels = _read_idx(Path(labels_path), IDX_LABELS_MAGIC).astype(np.int64)
    if len(images) != len(labels):
        raise BadInputError(labels_path, f"length mismatch: {len(labels)} labels for {len(images)} images "
                                         f"in {images_path}")
    return images.copy(), labels


def load_sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8x8 digits: float32 ``[1797,8,8]`` in ``[0,1]``, int64 labels ``[1797]``."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32), d.target.astype(np.int64)

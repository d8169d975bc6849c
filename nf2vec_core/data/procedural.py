"""The embedded default 3D dataset: procedural part-based shapes with analytic SDFs.

No download is needed: every shape is generated deterministically from ``(class_name, seed)``.

Conventions
-----------
* Frames. Parts are built in an *object frame* (metres-ish, ``+y`` up, floor at ``y = 0``). The
  object is then deformed (a small smooth sinusoidal displacement, see :class:`Deform`), rotated
  (yaw about ``+y``, uniform in ``±max_yaw_deg``, and a small random tilt) and normalised by a similarity transform to the
  *canonical frame*: the axis-aligned bounding box of the (deformed, rotated) surface is centred at
  the origin and its largest half-extent is ``0.9``, so the object lies in ``[-1, 1]^3`` with margin.
  A canonical point ``p`` maps to the object frame as ``x = p / scale + center`` (world, rotated),
  ``u = R^T x``, ``u' = u + d(u)`` (deformation), and the parts are evaluated at ``u'``.
* SDF. Negative inside. Each primitive has an analytic SDF (exact for sphere, box, rounded box,
  cylinder, cone frustum, torus, capsule; a conservative 1-Lipschitz bound for ellipsoids, the
  hollow ``cup`` and the clipped torus). The object SDF is the hard ``min`` over the parts (union),
  mapped through the similarity transform (times ``scale``) and divided by the Lipschitz constant of
  the deformation, so it is a conservative distance (``|sdf| <= true distance``, exact where the
  deformation is identity) with the exact zero level set.
* Part labels. The label of a point is the semantic part id (index into ``PART_NAMES[class]``) of the
  primitive that attains the minimum; several primitives (e.g. all legs) share one semantic id.
* Meshes come from marching cubes of the canonical SDF on a grid over ``[-1, 1]^3``. The object lies
  inside ``[-0.9, 0.9]^3``, so the grid boundary is always outside and the surface is closed. Parts
  are built to overlap, so objects are one component; interior void surfaces (negative volume) and
  specks below 1e-3 of the volume are dropped, any other (detached) component is kept.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
import trimesh
from skimage.measure import marching_cubes

from nf2vec_core.errors import BadInputError, ConfigError

__all__ = [
    "CLASSES",
    "PART_NAMES",
    "CANONICAL_HALF_EXTENT",
    "Primitive",
    "Deform",
    "ProceduralShape",
    "primitive_sdf",
    "make_shape",
    "shape_sdf",
    "shape_occupancy",
    "shape_mesh",
    "sample_surface",
    "object_to_canonical",
    "generate_dataset",
    "dataset_seeds",
    "shape_seed",
]

CLASSES: tuple[str, ...] = (
    "table", "chair", "stool", "bench", "lamp", "mug", "bottle", "airplane", "sofa", "shelf",
)
"""Class names; the index of a name is its class id."""

PART_NAMES: dict[str, tuple[str, ...]] = {
    "table": ("top", "leg"),
    "chair": ("seat", "back", "leg", "armrest"),
    "stool": ("seat", "leg", "ring"),
    "bench": ("seat", "leg", "back"),
    "lamp": ("base", "pole", "shade"),
    "mug": ("body", "handle"),
    "bottle": ("body", "neck", "cap"),
    "airplane": ("fuselage", "wing", "tail", "engine"),
    "sofa": ("seat", "back", "armrest", "base", "leg"),
    "shelf": ("side", "board", "back"),
}
"""Semantic part names per class; the part id of a name is its index."""

CANONICAL_HALF_EXTENT = 0.9
"""Largest half-extent of every shape's bounding box in the canonical frame."""

_IDENTITY = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
_Mat = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]
_Vec = tuple[float, float, float]


# ----------------------------------------------------------------------------------- data types
@dataclass(frozen=True)
class Primitive:
    """One parametric part.

    ``kind`` is one of ``sphere, ellipsoid, box, cylinder, cone, torus, capsule, cup`` (see
    :func:`primitive_sdf` for the parameters of each). The primitive's local frame is placed in the
    object frame by ``rotation`` (3x3; its columns are the local axes in object coordinates) and
    ``translation`` (the local origin): local ``q = R^T (u - t)``.
    """

    kind: str
    params: Mapping[str, float]
    part_id: int
    rotation: _Mat = _IDENTITY
    translation: _Vec = (0.0, 0.0, 0.0)

    @property
    def R(self) -> np.ndarray:
        """Rotation as a float64 array [3, 3]."""
        return np.asarray(self.rotation, dtype=np.float64)

    @property
    def t(self) -> np.ndarray:
        """Translation as a float64 array [3]."""
        return np.asarray(self.translation, dtype=np.float64)


@dataclass(frozen=True)
class Deform:
    """Smooth displacement ``d_i(u) = amplitude_i * sin(frequency_i . u + phase_i)`` (object frame).

    ``frequency`` rows are wave vectors [3, 3] (rad per unit). The map ``u -> u + d(u)`` is
    ``lipschitz``-Lipschitz (bound ``1 + ||diag(a) W||_F``), which scales the SDF to stay conservative.
    """

    amplitude: _Vec
    frequency: _Mat
    phase: _Vec

    @property
    def lipschitz(self) -> float:
        """Upper bound on the Lipschitz constant of ``u -> u + d(u)``."""
        aw = np.asarray(self.amplitude)[:, None] * np.asarray(self.frequency)
        return float(1.0 + np.linalg.norm(aw))

    def displacement(self, u: np.ndarray) -> np.ndarray:
        """Displacement ``d(u)`` [M, 3] of object-frame points ``u`` [M, 3] (dtype kept)."""
        w = np.asarray(self.frequency, dtype=u.dtype)
        a = np.asarray(self.amplitude, dtype=u.dtype)
        ph = np.asarray(self.phase, dtype=u.dtype)
        return a * np.sin(u @ w.T + ph)


@dataclass(frozen=True)
class ProceduralShape:
    """A generated object: its parts (object frame), deformation and object->canonical transform.

    ``rotation`` (3x3) maps the object frame to the world; ``center`` (world) and ``scale`` define the
    canonical frame ``p = scale * (x - center)``. ``half_extents`` are the canonical bounding-box
    half-extents (x, y, z), the largest being :data:`CANONICAL_HALF_EXTENT`.
    """

    class_name: str
    class_id: int
    seed: int
    parts: tuple[Primitive, ...]
    deform: Deform | None
    rotation: _Mat = _IDENTITY
    center: _Vec = (0.0, 0.0, 0.0)
    scale: float = 1.0
    half_extents: _Vec = (0.0, 0.0, 0.0)

    @property
    def part_names(self) -> tuple[str, ...]:
        """Semantic part names of this shape's class (part id = index)."""
        return PART_NAMES[self.class_name]


# ------------------------------------------------------------------------------ primitive SDFs
def _len2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sqrt(a * a + b * b)


def _sdf_sphere(q: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
    return np.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2]) - p["radius"]


def _sdf_ellipsoid(q: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
    rx, ry, rz = p["rx"], p["ry"], p["rz"]
    k = np.sqrt((q[0] / rx) ** 2 + (q[1] / ry) ** 2 + (q[2] / rz) ** 2)
    return (k - 1.0) * min(rx, ry, rz)


def _sdf_box(q: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
    rr = p.get("round", 0.0)
    dx = np.abs(q[0]) - (p["hx"] - rr)
    dy = np.abs(q[1]) - (p["hy"] - rr)
    dz = np.abs(q[2]) - (p["hz"] - rr)
    ox, oy, oz = np.maximum(dx, 0.0), np.maximum(dy, 0.0), np.maximum(dz, 0.0)
    inside = np.minimum(np.maximum(np.maximum(dx, dy), dz), 0.0)
    return np.sqrt(ox * ox + oy * oy + oz * oz) + inside - rr


def _cyl(q: np.ndarray, radius: float, half: float, y0: float = 0.0) -> np.ndarray:
    dr = _len2(q[0], q[2]) - radius
    dy = np.abs(q[1] - y0) - half
    return np.minimum(np.maximum(dr, dy), 0.0) + _len2(np.maximum(dr, 0.0), np.maximum(dy, 0.0))


def _sdf_cylinder(q: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
    return _cyl(q, p["radius"], p["half_height"])


def _sdf_cone(q: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
    """Capped cone frustum along y: radius ``r_bottom`` at ``y=-h``, ``r_top`` at ``y=+h`` (exact)."""
    h, r1, r2 = p["half_height"], p["r_bottom"], p["r_top"]
    qx = _len2(q[0], q[2])
    qy = q[1]
    cax = qx - np.minimum(qx, np.where(qy < 0.0, r1, r2))
    cay = np.abs(qy) - h
    k2x, k2y = r2 - r1, 2.0 * h
    t = np.clip(((r2 - qx) * k2x + (h - qy) * k2y) / (k2x * k2x + k2y * k2y), 0.0, 1.0)
    cbx = qx - r2 + k2x * t
    cby = qy - h + k2y * t
    s = np.where((cbx < 0.0) & (cay < 0.0), -1.0, 1.0)
    return s * np.sqrt(np.minimum(cax * cax + cay * cay, cbx * cbx + cby * cby))


def _sdf_torus(q: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
    """Torus in the local xz plane (axis y); optional clip to ``q_x >= xmin`` (conservative)."""
    d = _len2(_len2(q[0], q[2]) - p["major"], q[1]) - p["minor"]
    if "xmin" in p:
        d = np.maximum(d, p["xmin"] - q[0])
    return d


def _sdf_capsule(q: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
    h = p["half_length"]
    dy = q[1] - np.clip(q[1], -h, h)
    return np.sqrt(q[0] ** 2 + dy * dy + q[2] ** 2) - p["radius"]


def _sdf_cup(q: np.ndarray, p: Mapping[str, float]) -> np.ndarray:
    """Open-top hollow cylinder along y (outer ``radius``, ``wall``, bottom thickness ``bottom``)."""
    r, h, w, b = p["radius"], p["half_height"], p["wall"], p["bottom"]
    outer = _cyl(q, r, h)
    lo, hi = -h + b, h + r
    inner = _cyl(q, r - w, 0.5 * (hi - lo), 0.5 * (hi + lo))
    return np.maximum(outer, -inner)


_SDF: dict[str, Callable[[np.ndarray, Mapping[str, float]], np.ndarray]] = {
    "sphere": _sdf_sphere,
    "ellipsoid": _sdf_ellipsoid,
    "box": _sdf_box,
    "cylinder": _sdf_cylinder,
    "cone": _sdf_cone,
    "torus": _sdf_torus,
    "capsule": _sdf_capsule,
    "cup": _sdf_cup,
}


def primitive_sdf(prim: Primitive, points: np.ndarray) -> np.ndarray:
    """SDF [M] of one primitive at object-frame points [M, 3] (negative inside).

    Parameters per kind (local frame, axis of symmetry ``y``): ``sphere(radius)``,
    ``ellipsoid(rx, ry, rz)``, ``box(hx, hy, hz[, round])`` (half-extents, edge rounding),
    ``cylinder(radius, half_height)``, ``cone(r_bottom, r_top, half_height)``,
    ``torus(major, minor[, xmin])`` (in the xz plane, optionally clipped to ``x >= xmin``),
    ``capsule(radius, half_length)`` (segment from ``-half_length`` to ``+half_length`` on y),
    ``cup(radius, half_height, wall, bottom)`` (open at ``+y``).
    """
    return _primitive_sdf_t(prim, np.ascontiguousarray(np.asarray(points).T))


def _primitive_sdf_t(prim: Primitive, u_t: np.ndarray) -> np.ndarray:
    """As :func:`primitive_sdf` on transposed points ``u_t`` [3, M] (fast column layout)."""
    dt = u_t.dtype
    q = prim.R.T.astype(dt) @ (u_t - prim.t.astype(dt)[:, None])  # local coordinates [3, M]
    return _SDF[prim.kind](q, prim.params)


# --------------------------------------------------------------------------- shape evaluation
def _check_points(points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise BadInputError(None, f"query points must have shape [M, 3], got {pts.shape}")
    if not np.issubdtype(pts.dtype, np.floating):
        pts = pts.astype(np.float64)
    if not np.all(np.isfinite(pts)):
        raise BadInputError(None, "query points contain NaN or inf")
    return pts


def _object_sdf(shape: ProceduralShape, u: np.ndarray, labels: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Union SDF [M] (and labels) of the parts at object-frame points ``u`` [M, 3] (after deformation)."""
    u_t = np.ascontiguousarray(u.T)
    if labels:
        d = np.stack([_primitive_sdf_t(p, u_t) for p in shape.parts], axis=0)
        arg = d.argmin(axis=0)
        part_ids = np.array([p.part_id for p in shape.parts], dtype=np.int64)
        return np.take_along_axis(d, arg[None], axis=0)[0], part_ids[arg]
    out = _primitive_sdf_t(shape.parts[0], u_t)
    for p in shape.parts[1:]:
        np.minimum(out, _primitive_sdf_t(p, u_t), out=out)
    return out, None


def _world_sdf(shape: ProceduralShape, x: np.ndarray, labels: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """SDF (object units, conservative) at rotated-world points ``x`` [M, 3] (before normalisation)."""
    u = x @ np.asarray(shape.rotation, dtype=x.dtype)  # u = R^T x for row vectors
    lip = 1.0
    if shape.deform is not None:
        u = u + shape.deform.displacement(u)
        lip = shape.deform.lipschitz
    d, lab = _object_sdf(shape, u, labels)
    return d / lip, lab


def _canonical_sdf(shape: ProceduralShape, p: np.ndarray, labels: bool) -> tuple[np.ndarray, np.ndarray | None]:
    x = p / shape.scale + np.asarray(shape.center, dtype=p.dtype)
    d, lab = _world_sdf(shape, x, labels)
    return d * shape.scale, lab


def shape_sdf(shape: ProceduralShape, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """SDF and part labels at canonical points.

    Args:
        shape: a shape from :func:`make_shape`.
        points: [M, 3] canonical-frame points (float32 stays float32, anything else float64).
    Returns:
        ``(sdf [M], part_label [M] int64)``: negative inside; a conservative distance (exact without
        deformation); the label is the semantic part id of the nearest (argmin) primitive.
    """
    pts = _check_points(points)
    d, lab = _canonical_sdf(shape, pts, labels=True)
    assert lab is not None
    return d, lab


def shape_occupancy(shape: ProceduralShape, points: np.ndarray) -> np.ndarray:
    """Boolean occupancy [M] (``sdf < 0``) at canonical points [M, 3]."""
    pts = _check_points(points)
    return _canonical_sdf(shape, pts, labels=False)[0] < 0.0


def object_to_canonical(shape: ProceduralShape, points: np.ndarray, deformed: bool = True) -> np.ndarray:
    """Map object-frame (part construction) points [M, 3] to the canonical frame [M, 3].

    With ``deformed`` the inverse of the deformation is applied first (fixed-point iteration, the
    displacement being a contraction), so a point inside a part maps to a point inside the shape.
    """
    u = np.asarray(points, dtype=np.float64)
    x = u
    if deformed and shape.deform is not None:
        for _ in range(50):  # solve v + d(v) = u
            x = u - shape.deform.displacement(x)
    world = x @ np.asarray(shape.rotation).T
    return shape.scale * (world - np.asarray(shape.center))


# ------------------------------------------------------------------------ sparse grid + meshing
def _grid_values(fn: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray, n: int,
                 block: int = 4) -> np.ndarray:
    """Evaluate a conservative SDF ``fn`` on an ``n^3`` grid spanning ``[lo, hi]`` (float32 [n,n,n]).

    Blocks of ``block^3`` nodes whose centre value exceeds the block radius plus one grid step are
    surface-free (the SDF is conservative), so their nodes get the centre value (right sign, never
    interpolated by marching cubes); only near-surface blocks are evaluated densely.
    """
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    step = (hi - lo) / (n - 1)
    nb = -(-n // block)
    bc = (np.arange(nb) * block + 0.5 * (block - 1))
    cx, cy, cz = np.meshgrid(*(lo[i] + bc * step[i] for i in range(3)), indexing="ij")
    centres = np.stack([cx, cy, cz], axis=-1).reshape(-1, 3).astype(np.float32)
    coarse = fn(centres).astype(np.float32)
    radius = 0.5 * (block - 1) * float(np.linalg.norm(step)) + float(step.max())
    vol = np.broadcast_to(coarse.reshape(nb, nb, nb)[:, :, :, None, None, None],
                          (nb, nb, nb, block, block, block)).copy()
    active = np.nonzero(np.abs(coarse) <= radius * 1.05)[0]
    if active.size:
        bi, bj, bk = np.unravel_index(active, (nb, nb, nb))
        off = np.stack(np.meshgrid(*(np.arange(block),) * 3, indexing="ij"), -1).reshape(-1, 3)
        idx = np.stack([bi, bj, bk], -1)[:, None, :] * block + off[None]  # [A, B^3, 3]
        pts = (lo + idx.reshape(-1, 3) * step).astype(np.float32)
        vals = fn(pts).astype(np.float32).reshape(-1, block, block, block)
        vol[bi, bj, bk] = vals
    vol = vol.transpose(0, 3, 1, 4, 2, 5).reshape(nb * block, nb * block, nb * block)
    return np.ascontiguousarray(vol[:n, :n, :n])


def _marching_cubes(vol: np.ndarray, lo: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    verts, faces, _, _ = marching_cubes(vol, level=0.0, spacing=tuple(float(s) for s in step))
    return verts + lo, faces


def shape_mesh(shape: ProceduralShape, resolution: int = 96) -> trimesh.Trimesh:
    """Watertight triangle mesh of the shape (canonical frame) by marching cubes over ``[-1, 1]^3``.

    Args:
        shape: a shape from :func:`make_shape`.
        resolution: grid nodes per axis (>= 16).
    Returns:
        A closed (watertight) mesh with outward normals (positive volume); interior voids and
        specks are dropped (see :func:`_drop_voids`).
    """
    if resolution < 16:
        raise ConfigError(f"mesh resolution must be >= 16, got {resolution}")
    lo, hi = np.full(3, -1.0), np.full(3, 1.0)
    vol = _grid_values(lambda p: _canonical_sdf(shape, p, labels=False)[0], lo, hi, resolution)
    if vol.min() >= 0.0:
        raise BadInputError(None, f"{shape.class_name} seed {shape.seed}: empty shape at resolution {resolution}")
    vol[vol == 0.0] = np.float32(1e-7)  # exact zeros at nodes make degenerate, non-manifold triangles
    # the object is inside [-0.9, 0.9]^3: the grid boundary is outside, so the surface is closed
    verts, faces = _marching_cubes(vol, lo, (hi - lo) / (resolution - 1))
    mesh = trimesh.Trimesh(vertices=verts, faces=faces, process=True)
    if mesh.volume < 0.0:
        mesh.invert()
    return _drop_voids(mesh)


def _drop_voids(mesh: trimesh.Trimesh, min_fraction: float = 1e-3) -> trimesh.Trimesh:
    """Keep components with positive volume >= ``min_fraction`` of the total.

    Unions of parts can enclose small interior voids (their surfaces have negative volume, normals
    pointing into the void) and marching cubes can leave specks; both would put surface samples
    inside the solid, so they are removed. Detached real parts (a floating leg) are kept.
    """
    comps = mesh.split(only_watertight=False)
    if len(comps) <= 1:
        return mesh
    with np.errstate(all="ignore"):  # zero-volume specks warn in trimesh's mass properties
        vols = np.array([c.volume for c in comps])
    keep = [c for c, v in zip(comps, vols) if v >= min_fraction * vols[vols > 0].sum()]
    return trimesh.util.concatenate(keep) if len(keep) > 1 else keep[0]


def sample_surface(shape: ProceduralShape, n: int, seed: int, resolution: int = 96
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample ``n`` points on the surface mesh with normals and part labels.

    Returns:
        ``(points [n, 3] float32, normals [n, 3] float32 (unit, outward), part_labels [n] int64)``;
        labels are the argmin part of the analytic SDF at the samples.
    """
    mesh = shape_mesh(shape, resolution)
    pts, face_idx = trimesh.sample.sample_surface(mesh, int(n), seed=int(seed))
    normals = mesh.face_normals[face_idx]
    _, labels = shape_sdf(shape, np.asarray(pts, dtype=np.float64))
    return pts.astype(np.float32), normals.astype(np.float32), labels


# ---------------------------------------------------------------------------- part builders
def _rot(axis: int, angle: float) -> np.ndarray:
    """Rotation matrix [3, 3] by ``angle`` (rad) about coordinate axis ``axis`` (0=x, 1=y, 2=z)."""
    c, s = math.cos(angle), math.sin(angle)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    m = np.eye(3)
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


def _orient(axis: int, direction: Sequence[float], hint: Sequence[float] = (0.0, 1.0, 0.0)) -> np.ndarray:
    """Rotation whose local ``axis`` column is ``direction`` and next axis is closest to ``hint``."""
    d = np.asarray(direction, dtype=np.float64)
    d = d / np.linalg.norm(d)
    h = np.asarray(hint, dtype=np.float64)
    h = h - h.dot(d) * d
    if np.linalg.norm(h) < 1e-6:
        h = np.eye(3)[int(np.argmin(np.abs(d)))]
        h = h - h.dot(d) * d
    h = h / np.linalg.norm(h)
    cols = [np.zeros(3)] * 3
    cols[axis] = d
    cols[(axis + 1) % 3] = h
    cols[(axis + 2) % 3] = np.cross(d, h)
    return np.stack(cols, axis=1)


def _tup(a: np.ndarray | Sequence[float]) -> tuple:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim == 2:
        return tuple(tuple(float(v) for v in row) for row in arr)
    return tuple(float(v) for v in arr)


class _Parts:
    """Collects primitives of one object, naming parts by their semantic name."""

    def __init__(self, class_name: str):
        self.names = PART_NAMES[class_name]
        self.parts: list[Primitive] = []

    def add(self, kind: str, part: str, center: Sequence[float], rot: np.ndarray | None = None,
            **params: float) -> None:
        rot = np.eye(3) if rot is None else rot
        self.parts.append(Primitive(kind, {k: float(v) for k, v in params.items()},
                                    self.names.index(part), _tup(rot), _tup(center)))

    def segment(self, kind: str, part: str, a: Sequence[float], b: Sequence[float], radius: float) -> None:
        """A capsule / cylinder / square box post from ``a`` to ``b``."""
        a, b = np.asarray(a, float), np.asarray(b, float)
        half = 0.5 * float(np.linalg.norm(b - a))
        rot = _orient(1, b - a, (1.0, 0.0, 0.0))
        c = 0.5 * (a + b)
        if kind == "capsule":
            self.add("capsule", part, c, rot, radius=radius, half_length=max(half - radius, 1e-3))
        elif kind == "cylinder":
            self.add("cylinder", part, c, rot, radius=radius, half_height=half)
        else:
            self.add("box", part, c, rot, hx=radius, hy=half, hz=radius, round=0.3 * radius)

    def slab(self, part: str, center: Sequence[float], half: Sequence[float], rot: np.ndarray | None = None,
             rounding: float = 0.0) -> None:
        r = min(rounding, 0.95 * min(half))
        self.add("box", part, center, rot, hx=half[0], hy=half[1], hz=half[2], round=r)


def _u(rng: np.random.Generator, a: float, b: float) -> float:
    return float(rng.uniform(a, b))


def _leg_kind(rng: np.random.Generator) -> str:
    return str(rng.choice(["box", "cylinder", "capsule"]))


def _ring_positions(n: int, a: float, b: float, phase: float) -> np.ndarray:
    """[|n|, 2] (x, z) positions: rectangle corners for n == 4, else (or n < 0) on an ellipse."""
    if n == 4:
        return np.array([[a, b], [-a, b], [-a, -b], [a, -b]])
    n = abs(n)
    ang = phase + 2 * np.pi * np.arange(n) / n
    return np.stack([a * np.cos(ang), b * np.sin(ang)], axis=1)


def _build_table(rng: np.random.Generator) -> tuple[_Parts, float]:
    P = _Parts("table")
    W = 1.0
    round_top = rng.random() < 0.35
    D = W if round_top else W * _u(rng, 0.4, 1.0)
    H = W * _u(rng, 0.4, 1.0)
    t = W * _u(rng, 0.035, 0.08)
    if round_top:
        P.add("cylinder", "top", (0, H - t / 2, 0), radius=W / 2, half_height=t / 2)
    else:
        P.slab("top", (0, H - t / 2, 0), (W / 2, t / 2, D / 2), rounding=_u(rng, 0, 0.5) * t)
    lr = W * _u(rng, 0.025, 0.05)
    if round_top and rng.random() < 0.4:  # pedestal table
        P.add("cylinder", "leg", (0, H / 2, 0), radius=lr * 1.8, half_height=H / 2 - t / 4)
        P.add("cone", "leg", (0, t, 0), r_bottom=W * _u(rng, 0.2, 0.35),
              r_top=lr * 2.0, half_height=t)
        return P, max(W, H)
    n = int(rng.choice([3, 4, 5], p=[0.2, 0.6, 0.2]))
    inset = _u(rng, 0.04, 0.15) * W + lr
    a, b, phase = W / 2 - inset, D / 2 - inset, _u(rng, 0, 2 * np.pi)
    # rectangle corners for 4 legs under a rectangular top, else equally spaced on an ellipse
    pos = _ring_positions(n if not round_top else -n, a, b, phase)
    splay = _u(rng, 0.0, 0.08)
    kind = _leg_kind(rng)
    for x, z in pos:
        top = np.array([x, H - t / 2, z])
        out = np.array([x, 0.0, z]) / max(np.hypot(x, z), 1e-6)
        bot = np.array([x, 0.0, z]) + out * splay * H
        P.segment(kind, "leg", bot + [0, lr if kind == "capsule" else 0, 0], top, lr)
    return P, max(W, H)


def _build_chair(rng: np.random.Generator) -> tuple[_Parts, float]:
    P = _Parts("chair")
    W, D = _u(rng, 0.4, 0.6), _u(rng, 0.4, 0.6)
    h, st = _u(rng, 0.38, 0.5), _u(rng, 0.035, 0.07)
    P.slab("seat", (0, h - st / 2, 0), (W / 2, st / 2, D / 2), rounding=_u(rng, 0, 0.5) * st)
    bh, bt, tilt = _u(rng, 0.3, 0.6), _u(rng, 0.03, 0.05), math.radians(_u(rng, 0, 15))
    back_dir = np.array([0.0, math.cos(tilt), -math.sin(tilt)])
    base = np.array([0.0, h - st, -D / 2 + bt / 2])
    rot = _rot(0, -tilt)
    if rng.random() < 0.7:  # solid back panel
        P.slab("back", base + back_dir * (bh + st) / 2, (W / 2 * _u(rng, 0.85, 1.0), (bh + st) / 2, bt / 2),
               rot, rounding=0.4 * bt)
    else:  # slats + top rail
        ns = int(rng.integers(2, 5))
        rail = _u(rng, 0.06, 0.12)
        P.slab("back", base + back_dir * (st + bh - rail / 2), (W / 2, rail / 2, bt / 2), rot, rounding=0.3 * bt)
        for x in np.linspace(-W / 2 + bt, W / 2 - bt, ns):
            P.slab("back", base + [x, 0, 0] + back_dir * (bh + st) / 2, (bt * 0.7, (bh + st) / 2, bt / 2), rot)
    lr = _u(rng, 0.018, 0.03)
    kind = _leg_kind(rng)
    inset = lr + _u(rng, 0.0, 0.04)
    for x, z in _ring_positions(4, W / 2 - inset, D / 2 - inset, 0.0):
        P.segment(kind, "leg", (x * (1 + _u(rng, 0, 0.1)), 0, z * (1 + _u(rng, 0, 0.1))), (x, h - st / 2, z), lr)
    n_arm = int(rng.choice([0, 1, 2], p=[0.5, 0.1, 0.4]))
    ah, aw = h + _u(rng, 0.16, 0.26), _u(rng, 0.025, 0.05)
    for side in [1.0, -1.0][:n_arm]:
        x = side * (W / 2 - aw / 2)
        P.slab("armrest", (x, ah, 0.05 * D), (aw / 2, aw / 2, D * 0.45), rounding=0.4 * aw)
        P.segment("box", "armrest", (x, h - st / 2, 0.35 * D), (x, ah, 0.35 * D), aw / 2)
    return P, max(W, D, h + bh)


def _build_stool(rng: np.random.Generator) -> tuple[_Parts, float]:
    P = _Parts("stool")
    R, H, st = _u(rng, 0.15, 0.26), _u(rng, 0.4, 0.8), _u(rng, 0.03, 0.07)
    if rng.random() < 0.75:
        P.add("cylinder", "seat", (0, H - st / 2, 0), radius=R, half_height=st / 2)
    else:
        P.slab("seat", (0, H - st / 2, 0), (R, st / 2, R), rounding=_u(rng, 0.2, 0.6) * R)
    n = int(rng.choice([3, 4, 5], p=[0.4, 0.45, 0.15]))
    lr = _u(rng, 0.018, 0.035)
    r_top = R * _u(rng, 0.55, 0.8)
    r_bot = r_top + H * math.tan(math.radians(_u(rng, 0, 12)))
    ang0 = _u(rng, 0, 2 * np.pi)
    kind = _leg_kind(rng)
    for k in range(n):
        a = ang0 + 2 * np.pi * k / n
        c, s = math.cos(a), math.sin(a)
        P.segment(kind, "leg", (r_bot * c, 0, r_bot * s), (r_top * c, H - st / 2, r_top * s), lr)
    if rng.random() < 0.5:
        y = H * _u(rng, 0.25, 0.45)
        P.add("torus", "ring", (0, y, 0), major=r_bot + (r_top - r_bot) * y / H, minor=lr * 0.8)
    return P, max(2 * R, 2 * r_bot, H)


def _build_bench(rng: np.random.Generator) -> tuple[_Parts, float]:
    P = _Parts("bench")
    L, D = 1.0, _u(rng, 0.2, 0.5)
    h, st = _u(rng, 0.2, 0.55), _u(rng, 0.035, 0.08)
    P.slab("seat", (0, h - st / 2, 0), (L / 2, st / 2, D / 2), rounding=_u(rng, 0, 0.5) * st)
    lr = _u(rng, 0.02, 0.045)
    if rng.random() < 0.5:  # posts
        n_pairs = int(rng.integers(2, 4))
        kind = _leg_kind(rng)
        for x in np.linspace(-L / 2 + lr + 0.05, L / 2 - lr - 0.05, n_pairs):
            for z in (D / 2 - lr - 0.02, -D / 2 + lr + 0.02):
                P.segment(kind, "leg", (x, 0, z), (x, h - st / 2, z), lr)
    else:  # slab ends
        inset = _u(rng, 0.0, 0.15)
        for x in (-L / 2 + inset + lr, L / 2 - inset - lr):
            P.slab("leg", (x, (h - st / 2) / 2, 0), (lr, (h - st / 2) / 2, D / 2 * _u(rng, 0.8, 1.0)))
    if rng.random() < 0.4:
        bh, bt = _u(rng, 0.2, 0.45), _u(rng, 0.03, 0.05)
        tilt = math.radians(_u(rng, 0, 15))
        d = np.array([0.0, math.cos(tilt), -math.sin(tilt)])
        P.slab("back", np.array([0, h - st, -D / 2 + bt / 2]) + d * (bh + st) / 2,
               (L / 2, (bh + st) / 2, bt / 2), _rot(0, -tilt), rounding=0.4 * bt)
        return P, max(L, h + bh)
    return P, L


def _build_lamp(rng: np.random.Generator) -> tuple[_Parts, float]:
    P = _Parts("lamp")
    H = _u(rng, 0.35, 1.0)
    bt = H * _u(rng, 0.03, 0.06)
    rb = H * _u(rng, 0.12, 0.3)
    if rng.random() < 0.7:
        P.add("cylinder", "base", (0, bt / 2, 0), radius=rb, half_height=bt / 2)
    else:
        P.slab("base", (0, bt / 2, 0), (rb, bt / 2, rb * _u(rng, 0.6, 1.0)), rounding=0.4 * bt)
    pr = H * _u(rng, 0.02, 0.035)
    sh = H * _u(rng, 0.15, 0.35)  # shade height
    rs = H * _u(rng, 0.15, 0.35)
    rs_top = rs * _u(rng, 0.35, 0.9)
    if rng.random() < 0.7:  # floor/table lamp: straight pole, shade on top
        top = H - sh * 0.6
        P.segment("cylinder", "pole", (0, bt / 2, 0), (0, top, 0), pr)
        P.add("cone", "shade", (0, H - sh / 2, 0), r_bottom=rs, r_top=rs_top, half_height=sh / 2)
        return P, max(H, 2 * rs, 2 * rb)
    # desk lamp: two arm segments and a tilted shade
    a1 = math.radians(_u(rng, -25, 25))
    j1 = np.array([H * 0.55 * math.sin(a1), bt + H * 0.55 * math.cos(a1), 0.0])
    a2 = math.radians(_u(rng, 45, 100))
    j2 = j1 + H * _u(rng, 0.35, 0.55) * np.array([math.sin(a2), math.cos(a2), 0.0])
    P.segment("capsule", "pole", (0, bt / 2, 0), j1, pr)
    P.segment("capsule", "pole", j1, j2, pr)
    tilt = math.radians(_u(rng, 20, 70))
    axis = np.array([math.sin(tilt), math.cos(tilt), 0.0])  # shade opening points down along -axis
    P.add("cone", "shade", j2 - axis * sh * 0.35, _orient(1, axis, (1.0, 0.0, 0.0)),
          r_bottom=rs * 0.8, r_top=rs_top * 0.6, half_height=sh / 2)
    return P, max(H, 2 * rb, float(np.abs(j2).max()) + rs)


def _build_mug(rng: np.random.Generator) -> tuple[_Parts, float]:
    P = _Parts("mug")
    R = 1.0
    H = R * _u(rng, 1.3, 3.0)
    wall = R * _u(rng, 0.1, 0.16)
    taper = rng.random() < 0.3
    if taper:  # solid tapered cup body (no cavity)
        P.add("cone", "body", (0, H / 2, 0), r_bottom=R * _u(rng, 0.7, 0.9), r_top=R, half_height=H / 2)
    else:
        P.add("cup", "body", (0, H / 2, 0), radius=R, half_height=H / 2, wall=wall, bottom=1.3 * wall)
    width = 2 * R
    if rng.random() < 0.9:
        rh = H * _u(rng, 0.22, 0.38)
        minor = R * _u(rng, 0.1, 0.17)
        xc = R - wall / 2
        P.add("torus", "handle", (xc, H * _u(rng, 0.45, 0.55), 0), _rot(0, np.pi / 2),
              major=rh, minor=minor, xmin=0.0)
        width = 2 * R + rh + minor
    return P, max(H, width)


def _build_bottle(rng: np.random.Generator) -> tuple[_Parts, float]:
    P = _Parts("bottle")
    H = 1.0
    rb = H * _u(rng, 0.1, 0.25)
    hb = H * _u(rng, 0.45, 0.7)
    r_shoulder = rb
    if rng.random() < 0.8:
        P.add("cylinder", "body", (0, hb / 2, 0), radius=rb, half_height=hb / 2)
    else:  # square body: the round shoulder fits inside its smaller half-width
        depth = rb * _u(rng, 0.6, 1.0)
        P.slab("body", (0, hb / 2, 0), (rb, hb / 2, depth), rounding=rb * 0.3)
        r_shoulder = depth
    rn = rb * _u(rng, 0.25, 0.5)
    hs = H * _u(rng, 0.05, 0.2)
    P.add("cone", "body", (0, hb + hs / 2 - 1e-3, 0), r_bottom=r_shoulder, r_top=rn, half_height=hs / 2)
    hc = H * _u(rng, 0.04, 0.08)
    hn = H - hb - hs - hc
    P.add("cylinder", "neck", (0, hb + hs + hn / 2 - 0.01, 0), radius=rn, half_height=hn / 2 + 0.01)
    P.add("cylinder", "cap", (0, H - hc / 2, 0), radius=rn * _u(rng, 1.05, 1.3), half_height=hc / 2)
    return P, max(H, 2 * rb)


def _wing(P: _Parts, part: str, root: np.ndarray, direction: np.ndarray, length: float, chord: float,
          thick: float, up: Sequence[float] = (0.0, 1.0, 0.0)) -> None:
    """A thin rounded slab from ``root`` along ``direction`` (local z), chord along local x."""
    d = direction / np.linalg.norm(direction)
    rot = _orient(2, d, (1.0, 0.0, 0.0))
    if abs(np.dot(rot[:, 1], up)) < abs(np.dot(rot[:, 0], up)):  # keep the thin axis along ``up``
        rot = _orient(2, d, up)
        rot = rot[:, [1, 0, 2]] * np.array([1.0, 1.0, -1.0])  # local x = chord, y = thickness
    P.slab(part, root + d * length / 2, (chord / 2, thick / 2, length / 2 + chord * 0.1), rot, rounding=thick * 0.45)


def _build_airplane(rng: np.random.Generator) -> tuple[_Parts, float]:
    P = _Parts("airplane")
    L = 1.0
    rf = L * _u(rng, 0.045, 0.08)
    tail_len = L * _u(rng, 0.15, 0.3)
    P.add("capsule", "fuselage", (tail_len / 2, 0, 0), _orient(1, (1, 0, 0), (0, 1, 0)),
          radius=rf, half_length=(L - tail_len) / 2 - rf)
    P.add("cone", "fuselage", (-L / 2 + tail_len / 2 + rf * 0.5, rf * 0.3, 0), _orient(1, (1, 0, 0), (0, 1, 0)),
          r_bottom=rf * _u(rng, 0.3, 0.5), r_top=rf, half_height=tail_len / 2)
    span = L * _u(rng, 0.7, 1.25)
    chord = L * _u(rng, 0.1, 0.2)
    thick = L * _u(rng, 0.035, 0.05)
    sweep = math.radians(_u(rng, 0, 35))
    dih = math.radians(_u(rng, -3, 8))
    xw, yw = L * _u(rng, -0.1, 0.12), rf * _u(rng, -0.6, 0.6)
    for side in (1.0, -1.0):
        d = np.array([-math.sin(sweep), math.sin(dih), side * math.cos(sweep)])
        _wing(P, "wing", np.array([xw, yw, 0.0]), d, span / 2, chord, thick)
    # tail: vertical fin + stabilisers
    xt = -L / 2 + rf + chord * 0.3
    ct = chord * _u(rng, 0.6, 0.9)
    fin_h = L * _u(rng, 0.12, 0.22)
    sw_t = math.radians(_u(rng, 15, 45))
    _wing(P, "tail", np.array([xt, rf * 0.5, 0.0]), np.array([-math.sin(sw_t), math.cos(sw_t), 0.0]),
          fin_h, ct, thick * 0.9, up=(0.0, 0.0, 1.0))
    stab = L * _u(rng, 0.12, 0.22)
    yt = rf * 0.4 if rng.random() < 0.7 else rf * 0.5 + fin_h * math.cos(sw_t) * 0.95
    xt2 = xt if yt < rf else xt - fin_h * math.sin(sw_t) * 0.95
    for side in (1.0, -1.0):
        _wing(P, "tail", np.array([xt2, yt, 0.0]), np.array([-math.sin(sw_t) * 0.5, 0.0, side]), stab, ct * 0.8,
              thick * 0.8)
    n_eng = int(rng.choice([0, 2, 4], p=[0.3, 0.5, 0.2]))
    re = rf * _u(rng, 0.45, 0.65)
    le = chord * _u(rng, 0.9, 1.4)
    zs = [span * _u(rng, 0.15, 0.25)] if n_eng == 2 else [span * 0.16, span * 0.32]
    for k in range(n_eng):
        z = zs[k // 2] * (1 if k % 2 == 0 else -1)
        x = xw - abs(z) * math.tan(sweep) + chord * 0.15
        y = yw + abs(z) * math.tan(dih) - thick / 2 - re * 0.7
        P.add("cylinder", "engine", (x, y, z), _orient(1, (1, 0, 0), (0, 1, 0)), radius=re, half_height=le / 2)
    return P, max(L, span)


def _build_sofa(rng: np.random.Generator) -> tuple[_Parts, float]:
    P = _Parts("sofa")
    W, D = _u(rng, 0.9, 2.4), _u(rng, 0.75, 1.0)
    leg_h = _u(rng, 0.0, 0.12) if rng.random() < 0.6 else 0.0
    h = _u(rng, 0.36, 0.48)
    ct = _u(rng, 0.08, 0.15)  # cushion thickness
    H = _u(rng, 0.65, 0.95)
    bt = _u(rng, 0.15, 0.25)
    n_arm = int(rng.choice([0, 1, 2], p=[0.15, 0.1, 0.75]))
    aw, ah = _u(rng, 0.1, 0.25), _u(rng, 0.5, 0.7)
    rnd = _u(rng, 0.02, 0.06)
    base_top = h - ct
    P.slab("base", (0, (leg_h + base_top) / 2, 0), (W / 2, (base_top - leg_h) / 2, D / 2), rounding=rnd)
    P.slab("back", (0, (leg_h + H) / 2, -D / 2 + bt / 2), (W / 2, (H - leg_h) / 2, bt / 2), rounding=rnd * 1.5)
    arms = [1.0, -1.0][:n_arm]
    for s in arms:
        P.slab("armrest", (s * (W / 2 - aw / 2), (leg_h + ah) / 2, 0), (aw / 2, (ah - leg_h) / 2, D / 2),
               rounding=rnd * 1.5)
    x0 = -W / 2 + (aw - 0.02 if -1.0 in arms else 0.0)  # cushions overlap arms and back (no voids)
    x1 = W / 2 - (aw - 0.02 if 1.0 in arms else 0.0)
    n_c = int(rng.integers(1, 4))
    edges = np.linspace(x0, x1, n_c + 1)
    for a, b in zip(edges[:-1], edges[1:]):
        P.slab("seat", ((a + b) / 2, base_top + ct / 2 - 0.01, bt / 2 - 0.02),
               ((b - a) / 2 - 0.005, ct / 2 + 0.01, (D - bt) / 2 + 0.02), rounding=ct * 0.45)
    if leg_h > 0.02:
        lr = _u(rng, 0.025, 0.04)
        for x, z in _ring_positions(4, W / 2 - lr - 0.03, D / 2 - lr - 0.03, 0.0):
            P.segment("cylinder", "leg", (x, 0, z), (x, leg_h + 0.02, z), lr)
    return P, max(W, D, H)


def _build_shelf(rng: np.random.Generator) -> tuple[_Parts, float]:
    P = _Parts("shelf")
    W, D, H = _u(rng, 0.5, 1.5), _u(rng, 0.22, 0.45), _u(rng, 0.5, 2.0)
    t = max(W, H) * _u(rng, 0.025, 0.04)
    for s in (1.0, -1.0):
        P.slab("side", (s * (W / 2 - t / 2), H / 2, 0), (t / 2, H / 2, D / 2))
    n_inner = int(rng.integers(0, 5))
    ys = np.concatenate([[t / 2, H - t / 2], np.linspace(0, H, n_inner + 2)[1:-1]
                         + rng.uniform(-0.3, 0.3, n_inner) * H / (n_inner + 2)])
    for y in ys:
        P.slab("board", (0, y, 0.0), (W / 2 - t * 0.9, t / 2, D / 2 * 0.97))
    if rng.random() < 0.6:
        P.slab("back", (0, H / 2, -D / 2 + t / 4), (W / 2 - t * 0.9, H / 2 - t * 0.5, t / 4 + 1e-3))
    return P, max(W, H)


_BUILDERS: dict[str, Callable[[np.random.Generator], tuple[_Parts, float]]] = {
    "table": _build_table, "chair": _build_chair, "stool": _build_stool, "bench": _build_bench,
    "lamp": _build_lamp, "mug": _build_mug, "bottle": _build_bottle, "airplane": _build_airplane,
    "sofa": _build_sofa, "shelf": _build_shelf,
}
assert tuple(_BUILDERS) == CLASSES


# ------------------------------------------------------------------------------- assembly
def _random_rotation(rng: np.random.Generator, max_yaw_deg: float = 180.0,
                     max_tilt_deg: float = 6.0) -> np.ndarray:
    """Yaw about ``+y`` uniform in ``[-max_yaw_deg, max_yaw_deg]``, then a tilt up to ``max_tilt_deg``
    about a random horizontal axis (one draw per angle whatever the ranges, so the other random
    parameters of a shape do not depend on them)."""
    yaw = _rot(1, math.radians(max_yaw_deg) * _u(rng, -1.0, 1.0))
    axis_ang = _u(rng, 0, 2 * np.pi)
    axis = np.array([math.cos(axis_ang), 0.0, math.sin(axis_ang)])
    tilt = math.radians(_u(rng, 0, max_tilt_deg))
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    tilt_m = np.eye(3) + math.sin(tilt) * k + (1 - math.cos(tilt)) * k @ k  # Rodrigues
    return tilt_m @ yaw


def _random_deform(rng: np.random.Generator, size: float) -> Deform:
    amp = size * rng.uniform(0.0, 0.02, 3)
    dirs = rng.normal(size=(3, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    freq = dirs * (2 * np.pi / (size * rng.uniform(1.5, 3.0, 3)))[:, None]
    return Deform(_tup(amp), _tup(freq), _tup(rng.uniform(0, 2 * np.pi, 3)))


def _surface_bbox(shape: ProceduralShape, lo: np.ndarray, hi: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Bounding box (world, object units) of the zero level set sampled on a grid over [lo, hi].

    Uses the sign-change crossings on grid edges along each axis, linearly interpolated: exactly the
    extreme vertices marching cubes would produce, without building the mesh.
    """
    vol = _grid_values(lambda x: _world_sdf(shape, x, labels=False)[0], lo, hi, n)
    if vol.min() >= 0.0 or vol.max() <= 0.0:
        raise BadInputError(None, f"{shape.class_name} seed {shape.seed}: surface not found for bbox")
    step = (hi - lo) / (n - 1)
    bmin, bmax = np.empty(3), np.empty(3)
    for ax in range(3):
        a = np.moveaxis(vol, ax, 0)
        v0, v1 = a[:-1], a[1:]
        idx = np.nonzero((v0 < 0.0) != (v1 < 0.0))
        t = v0[idx] / (v0[idx] - v1[idx])
        coord = lo[ax] + (idx[0] + t) * step[ax]
        bmin[ax], bmax[ax] = coord.min(), coord.max()
    return bmin, bmax


_LOCAL_HALF: dict[str, Callable[[Mapping[str, float]], tuple[float, float, float]]] = {
    "sphere": lambda p: (p["radius"],) * 3,
    "ellipsoid": lambda p: (p["rx"], p["ry"], p["rz"]),
    "box": lambda p: (p["hx"], p["hy"], p["hz"]),
    "cylinder": lambda p: (p["radius"], p["half_height"], p["radius"]),
    "cone": lambda p: (max(p["r_bottom"], p["r_top"]), p["half_height"], max(p["r_bottom"], p["r_top"])),
    "torus": lambda p: (p["major"] + p["minor"], p["minor"], p["major"] + p["minor"]),
    "capsule": lambda p: (p["radius"], p["half_length"] + p["radius"], p["radius"]),
    "cup": lambda p: (p["radius"], p["half_height"], p["radius"]),
}


def _world_bound(shape: ProceduralShape) -> tuple[np.ndarray, np.ndarray]:
    """Conservative world AABB (object units) from the parts' local boxes, deformation and rotation."""
    corners = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1], indexing="ij")).reshape(3, -1).T
    pts = np.concatenate([(corners * _LOCAL_HALF[p.kind](p.params)) @ p.R.T + p.t for p in shape.parts])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    if shape.deform is not None:  # u' = u + d(u) in the parts  =>  u in parts - d, |d_i| <= a_i
        amp = np.abs(np.asarray(shape.deform.amplitude))
        lo, hi = lo - amp, hi + amp
    box = np.array(np.meshgrid(*zip(lo, hi), indexing="ij")).reshape(3, -1).T
    world = box @ np.asarray(shape.rotation).T
    return world.min(axis=0), world.max(axis=0)


def _normalise(shape: ProceduralShape) -> ProceduralShape:
    """Compute centre/scale so the surface bbox is centred with largest half-extent 0.9.

    The bbox is that of the zero level set on a 96^3 grid (sparse, edge-interpolated) over a
    conservative analytic bound, i.e. accurate to a small fraction of a voxel.
    """
    lo, hi = _world_bound(shape)
    pad = 0.02 * float((hi - lo).max())
    lo, hi = _surface_bbox(shape, lo - pad, hi + pad, 96)
    center = 0.5 * (lo + hi)
    half = 0.5 * (hi - lo)
    scale = CANONICAL_HALF_EXTENT / float(half.max())
    return ProceduralShape(shape.class_name, shape.class_id, shape.seed, shape.parts, shape.deform,
                           shape.rotation, _tup(center), float(scale), _tup(half * scale))


def _class_id(class_name: str) -> int:
    if class_name not in CLASSES:
        raise ConfigError(f"unknown procedural class {class_name!r}; expected one of {list(CLASSES)}")
    return CLASSES.index(class_name)


def make_shape(class_name: str, seed: int, max_yaw_deg: float = 180.0) -> ProceduralShape:
    """Generate one shape of ``class_name`` deterministically from ``seed`` (canonical frame).

    ``max_yaw_deg``: the yaw about the up axis is uniform in ``[-max_yaw_deg, max_yaw_deg]``
    (180 = any heading; small values give roughly aligned shapes, as in ShapeNet / ModelNet).
    """
    cid = _class_id(class_name)
    rng = np.random.default_rng(int(seed))
    builder, size = _BUILDERS[class_name](rng)
    parts = builder.parts
    # centre the raw parts horizontally and vertically around the origin before rotating
    offs = np.array([0.0, -0.5 * size * 0.5, 0.0])
    parts = [Primitive(p.kind, p.params, p.part_id, p.rotation, _tup(p.t + offs)) for p in parts]
    deform = _random_deform(rng, size)
    rotation = _random_rotation(rng, max_yaw_deg)
    raw = ProceduralShape(class_name, cid, int(seed), tuple(parts), deform, _tup(rotation))
    return _normalise(raw)


def shape_seed(seed: int, class_id: int, index: int) -> int:
    """Per-shape seed derived from (dataset seed, class id, index) via ``np.random.SeedSequence``."""
    ss = np.random.SeedSequence(entropy=int(seed), spawn_key=(int(class_id), int(index)))
    return int(ss.generate_state(1, dtype=np.uint32)[0])


def generate_dataset(n_per_class: int, seed: int, classes: Sequence[str] | None = None,
                     max_yaw_deg: float = 180.0) -> list[ProceduralShape]:
    """``n_per_class`` shapes of every class (class-major order), deterministic in ``seed``.

    A shape's seed depends only on (``seed``, global class id, index), so subsets of classes and
    smaller ``n_per_class`` give the same shapes as the full dataset.
    """
    return [make_shape(c, s, max_yaw_deg) for c, s in dataset_seeds(n_per_class, seed, classes, max_yaw_deg)]


def dataset_seeds(n_per_class: int, seed: int, classes: Sequence[str] | None = None,
                  max_yaw_deg: float = 180.0) -> list[tuple[str, int]]:
    """``(class name, shape seed)`` of every shape of :func:`generate_dataset`, in its order, without
    building them (``make_shape(name, seed, max_yaw_deg)`` builds one: a worker can do it)."""
    if int(n_per_class) < 0:
        raise ConfigError(f"n_per_class must be >= 0, got {n_per_class}")
    names = CLASSES if classes is None else tuple(classes)
    ids = [_class_id(c) for c in names]
    if not 0.0 <= float(max_yaw_deg) <= 180.0:
        raise ConfigError(f"max_yaw_deg must be in [0, 180], got {max_yaw_deg}")
    return [(c, shape_seed(seed, cid, i)) for c, cid in zip(names, ids) for i in range(int(n_per_class))]

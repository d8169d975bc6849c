"""Tests for the embedded procedural 3D dataset (analytic SDFs, meshes, labels, class overlap)."""
from __future__ import annotations

import numpy as np
import pytest
import trimesh
from scipy.spatial import cKDTree

from nf2vec_core.data import procedural as P
from nf2vec_core.errors import BadInputError, ConfigError


@pytest.fixture(scope="module")
def shapes() -> dict[str, list[P.ProceduralShape]]:
    """Three shapes of every class (seeds 0..2)."""
    return {c: [P.make_shape(c, s) for s in range(3)] for c in P.CLASSES}


def _random_points(n: int, seed: int, lim: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-lim, lim, (n, 3))


def test_classes_and_part_names() -> None:
    assert len(P.CLASSES) >= 8
    assert tuple(P.PART_NAMES) == P.CLASSES
    assert all(len(v) >= 2 and len(set(v)) == len(v) for v in P.PART_NAMES.values())


def test_determinism_same_seed_identical_different_seed_differs() -> None:
    pts = _random_points(2000, 0)
    for c in ("table", "airplane", "mug"):
        a, b, other = P.make_shape(c, 11), P.make_shape(c, 11), P.make_shape(c, 12)
        assert a == b
        da, la = P.shape_sdf(a, pts)
        db, lb = P.shape_sdf(b, pts)
        np.testing.assert_array_equal(da, db)
        np.testing.assert_array_equal(la, lb)
        assert a.parts != other.parts
        assert np.abs(P.shape_sdf(other, pts)[0] - da).max() > 1e-2


def test_generate_dataset_deterministic_and_subset_consistent() -> None:
    full = P.generate_dataset(2, seed=5)
    assert len(full) == 2 * len(P.CLASSES)
    assert [s.class_id for s in full] == [i for i in range(len(P.CLASSES)) for _ in range(2)]
    sub = P.generate_dataset(2, seed=5, classes=["mug", "table"])
    by_class = {(s.class_name, k % 2): s for k, s in enumerate(full)}
    assert sub[0] == by_class[("mug", 0)] and sub[3] == by_class[("table", 1)]
    assert len({s.seed for s in full}) == len(full)
    assert P.generate_dataset(1, seed=6)[0] != full[0]
    with pytest.raises(ConfigError):
        P.generate_dataset(1, seed=0, classes=["teapot"])
    with pytest.raises(ConfigError):
        P.make_shape("teapot", 0)


def test_bad_points_raise() -> None:
    shape = P.make_shape("table", 0)
    with pytest.raises(BadInputError):
        P.shape_sdf(shape, np.zeros((4, 2)))
    with pytest.raises(BadInputError):
        P.shape_occupancy(shape, np.full((4, 3), np.nan))


def test_drop_voids_removes_inner_voids_and_specks_keeps_detached_parts() -> None:
    outer = trimesh.creation.icosphere(subdivisions=2, radius=0.8)
    void = trimesh.creation.icosphere(subdivisions=1, radius=0.3)
    void.invert()  # a cavity inside the solid: normals point into it, negative volume
    detached = trimesh.creation.box(extents=(0.2, 0.2, 0.2))
    detached.apply_translation((0.0, 0.0, 1.5))
    speck = trimesh.creation.box(extents=(0.01, 0.01, 0.01))
    speck.apply_translation((1.5, 0.0, 0.0))
    parts = [outer, void, detached, speck]
    kept = P._drop_voids(trimesh.util.concatenate(parts))
    assert len(kept.faces) == len(outer.faces) + len(detached.faces)
    assert kept.is_watertight
    np.testing.assert_allclose(kept.volume, outer.volume + detached.volume, rtol=1e-9)
    assert P._drop_voids(outer) is outer  # one component: unchanged


def test_every_class_mesh_watertight_and_normalised(shapes: dict[str, list[P.ProceduralShape]]) -> None:
    for c, group in shapes.items():
        for k, shape in enumerate(group):
            res = 96 if k == 0 else 64
            mesh = P.shape_mesh(shape, res)
            assert mesh.is_watertight, (c, shape.seed, res)
            assert mesh.volume > 0.0, (c, shape.seed)
            lo, hi = mesh.bounds
            assert np.all(lo > -1.0) and np.all(hi < 1.0)
            half = 0.5 * (hi - lo)
            assert abs(half.max() - P.CANONICAL_HALF_EXTENT) < 0.015, (c, shape.seed, half)
            assert np.abs(0.5 * (lo + hi)).max() < 0.015, (c, shape.seed)
            np.testing.assert_allclose(np.sort(half), np.sort(shape.half_extents), atol=0.02)
            # the mesh lies on the zero level set of the analytic SDF (within a voxel)
            sdf, _ = P.shape_sdf(shape, mesh.vertices[::7])
            assert np.abs(sdf).max() < 2.0 / (res - 1), (c, shape.seed)


def test_sdf_sign_table_top_inside_far_outside() -> None:
    for seed in range(4):
        shape = P.make_shape("table", seed)
        top = shape.parts[0]
        assert shape.part_names[top.part_id] == "top"
        centre = P.object_to_canonical(shape, top.t[None])
        sdf, lab = P.shape_sdf(shape, centre)
        assert sdf[0] < 0.0 and shape.part_names[lab[0]] == "top"
        far = np.array([[5.0, 5.0, 5.0], [0.0, -3.0, 0.0]])
        assert np.all(P.shape_sdf(shape, far)[0] > 1.0)
        border = _random_points(500, seed) * 0.999
        border[:, seed % 3] = np.sign(border[:, seed % 3]) * 0.97  # beyond the 0.9 bbox
        assert not P.shape_occupancy(shape, border).any()


def _lone(prim: P.Primitive, scale: float = 1.0, center=(0.0, 0.0, 0.0)) -> P.ProceduralShape:
    return P.ProceduralShape("table", 0, 0, (prim,), None, center=center, scale=scale)


def _rotation(seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def _surface_and_inside(kind: str, rng: np.random.Generator) -> tuple[dict, np.ndarray, callable]:
    """Params, dense local surface samples [K, 3] and an analytic inside test for one primitive."""
    k = 400_000
    if kind == "sphere":
        v = rng.normal(size=(k, 3))
        return {"radius": 0.4}, 0.4 * v / np.linalg.norm(v, axis=1, keepdims=True), \
            lambda q: np.linalg.norm(q, axis=1) < 0.4
    if kind == "box":
        h = np.array([0.5, 0.2, 0.3])
        pts = rng.uniform(-1, 1, (k, 3)) * h
        ax = rng.integers(0, 3, k)
        pts[np.arange(k), ax] = np.sign(rng.uniform(-1, 1, k)) * h[ax]
        return {"hx": 0.5, "hy": 0.2, "hz": 0.3}, pts, lambda q: np.all(np.abs(q) < h, axis=1)
    if kind == "cylinder":
        r, hh = 0.3, 0.4
        th = rng.uniform(0, 2 * np.pi, k)
        side = np.stack([r * np.cos(th), rng.uniform(-hh, hh, k), r * np.sin(th)], 1)
        rad = r * np.sqrt(rng.uniform(0, 1, k))
        cap = np.stack([rad * np.cos(th), np.sign(rng.uniform(-1, 1, k)) * hh, rad * np.sin(th)], 1)
        return {"radius": r, "half_height": hh}, np.concatenate([side, cap]), \
            lambda q: (np.hypot(q[:, 0], q[:, 2]) < r) & (np.abs(q[:, 1]) < hh)
    if kind == "cone":
        r1, r2, hh = 0.45, 0.15, 0.35
        th, y = rng.uniform(0, 2 * np.pi, k), rng.uniform(-hh, hh, k)
        ry = r1 + (r2 - r1) * (y + hh) / (2 * hh)
        side = np.stack([ry * np.cos(th), y, ry * np.sin(th)], 1)
        bot = np.stack([r1 * np.sqrt(rng.uniform(0, 1, k)) * np.cos(th), np.full(k, -hh),
                        r1 * np.sqrt(rng.uniform(0, 1, k)) * np.sin(th)], 1)
        top = np.stack([r2 * np.sqrt(rng.uniform(0, 1, k // 4)) * np.cos(th[: k // 4]), np.full(k // 4, hh),
                        r2 * np.sqrt(rng.uniform(0, 1, k // 4)) * np.sin(th[: k // 4])], 1)

        def inside(q: np.ndarray) -> np.ndarray:
            rq = r1 + (r2 - r1) * (q[:, 1] + hh) / (2 * hh)
            return (np.abs(q[:, 1]) < hh) & (np.hypot(q[:, 0], q[:, 2]) < rq)
        return {"r_bottom": r1, "r_top": r2, "half_height": hh}, np.concatenate([side, bot, top]), inside
    if kind == "torus":
        big, small = 0.45, 0.12
        th, ph = rng.uniform(0, 2 * np.pi, (2, k))
        pts = np.stack([(big + small * np.cos(ph)) * np.cos(th), small * np.sin(ph),
                        (big + small * np.cos(ph)) * np.sin(th)], 1)
        return {"major": big, "minor": small}, pts, \
            lambda q: np.hypot(np.hypot(q[:, 0], q[:, 2]) - big, q[:, 1]) < small
    assert kind == "capsule"
    r, hh = 0.15, 0.4
    v = rng.normal(size=(k, 3))
    v = r * v / np.linalg.norm(v, axis=1, keepdims=True)
    v[:, 1] += np.where(v[:, 1] > 0, hh, -hh)
    th = rng.uniform(0, 2 * np.pi, k)
    side = np.stack([r * np.cos(th), rng.uniform(-hh, hh, k), r * np.sin(th)], 1)
    return {"radius": r, "half_length": hh}, np.concatenate([v, side]), \
        lambda q: np.linalg.norm(q - np.stack([0 * q[:, 0], np.clip(q[:, 1], -hh, hh), 0 * q[:, 0]], 1), axis=1) < r


@pytest.mark.parametrize("kind", ["sphere", "box", "cylinder", "cone", "torus", "capsule"])
def test_lone_primitive_sdf_matches_brute_force(kind: str) -> None:
    rng = np.random.default_rng(3)
    params, surf, inside = _surface_and_inside(kind, rng)
    rot, t = _rotation(7), np.array([0.1, -0.05, 0.08])
    prim = P.Primitive(kind, params, 0, tuple(map(tuple, rot)), tuple(t))
    scale, center = 1.7, np.array([0.05, 0.02, -0.03])
    shape = _lone(prim, scale, tuple(center))
    # canonical points p <-> object points u = p / scale + center (identity shape rotation)
    surf_obj = surf @ rot.T + t
    surf_can = scale * (surf_obj - center)
    pts = rng.uniform(-1, 1, (600, 3))
    sdf, lab = P.shape_sdf(shape, pts)
    ref = cKDTree(surf_can).query(pts)[0]
    local = (pts / scale + center - t) @ rot
    assert np.array_equal(sdf < 0, inside(local))
    np.testing.assert_allclose(np.abs(sdf), ref, atol=0.012)
    assert np.all(lab == 0)
    np.testing.assert_allclose(P.primitive_sdf(prim, pts / scale + center), sdf / scale, atol=1e-9)


@pytest.mark.parametrize("kind,params", [
    ("ellipsoid", {"rx": 0.6, "ry": 0.3, "rz": 0.45}),
    ("cup", {"radius": 0.5, "half_height": 0.6, "wall": 0.1, "bottom": 0.12}),
    ("torus", {"major": 0.5, "minor": 0.15, "xmin": 0.1}),
])
def test_bounded_primitives_are_conservative(kind: str, params: dict) -> None:
    shape = _lone(P.Primitive(kind, params, 0, tuple(map(tuple, _rotation(2))), (0.05, 0.0, -0.05)))
    mesh = P.shape_mesh(shape, 96)
    assert mesh.is_watertight and mesh.volume > 0
    surf = trimesh.sample.sample_surface(mesh, 200_000, seed=0)[0]
    pts = _random_points(1000, 5, 0.95)
    dist = cKDTree(surf).query(pts)[0]
    sdf, _ = P.shape_sdf(shape, pts)
    assert np.all(np.abs(sdf) <= dist + 0.02)
    assert np.corrcoef(np.abs(sdf), dist)[0, 1] > 0.8


def test_deformed_sdf_is_conservative(shapes: dict[str, list[P.ProceduralShape]]) -> None:
    for c in ("chair", "lamp", "sofa"):
        shape = shapes[c][1]
        assert shape.deform is not None and shape.deform.lipschitz > 1.0
        mesh = P.shape_mesh(shape, 96)
        surf = trimesh.sample.sample_surface(mesh, 300_000, seed=0)[0]
        pts = _random_points(1500, 4, 0.95)
        dist = cKDTree(surf).query(pts)[0]
        sdf, _ = P.shape_sdf(shape, pts)
        assert np.all(np.abs(sdf) <= dist + 0.02), c
        assert np.mean(np.abs(sdf)) > 0.5 * np.mean(dist), c  # not trivially small
        occ = P.shape_occupancy(shape, pts)
        np.testing.assert_array_equal(occ, sdf < 0)
        g = np.linspace(-1, 1, 48, endpoint=False) + 1 / 48  # cell centres
        grid = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
        assert P.shape_occupancy(shape, grid).mean() * 8.0 == pytest.approx(mesh.volume, rel=0.06), c


def test_sample_surface_labels_normals_and_seed() -> None:
    shape = P.make_shape("table", 2)
    pts, nrm, lab = P.sample_surface(shape, 3000, seed=1)
    assert pts.shape == (3000, 3) and pts.dtype == np.float32
    assert nrm.shape == (3000, 3) and lab.shape == (3000,) and lab.dtype == np.int64
    np.testing.assert_allclose(np.linalg.norm(nrm, axis=1), 1.0, atol=1e-4)
    assert set(lab.tolist()) == set(range(len(P.PART_NAMES["table"])))  # top and legs
    pts2, _, lab2 = P.sample_surface(shape, 3000, seed=1)
    np.testing.assert_array_equal(pts, pts2)
    np.testing.assert_array_equal(lab, lab2)
    assert not np.array_equal(P.sample_surface(shape, 3000, seed=2)[0], pts)
    # normals point outward: a small step along them leaves the solid, a step against enters it
    out = P.shape_sdf(shape, pts + 0.01 * nrm)[0]
    inn = P.shape_sdf(shape, pts - 0.01 * nrm)[0]
    assert (out > 0).mean() > 0.97 and (inn < 0).mean() > 0.95


def test_part_ids_cover_every_part_name_over_seeds() -> None:
    for c in P.CLASSES:
        seen = {p.part_id for s in range(8) for p in P.make_shape(c, s).parts}
        assert seen == set(range(len(P.PART_NAMES[c]))), c


@pytest.mark.parametrize("max_yaw", [180.0, 30.0])
def test_classes_overlap_in_simple_statistics(max_yaw: float) -> None:
    """Sorted bbox extents + volume must not separate the classes (the task is not trivial)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = P.generate_dataset(12, seed=0, max_yaw_deg=max_yaw)
    g = np.linspace(-0.95, 0.95, 24)
    grid = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    feats = np.array([sorted(s.half_extents) + [P.shape_occupancy(s, grid).mean()] for s in data])
    labels = np.array([s.class_id for s in data])
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))
    acc = cross_val_score(clf, feats, labels, cv=StratifiedKFold(4, shuffle=True, random_state=0)).mean()
    print(f"overlap accuracy {acc:.3f}")
    assert 1.5 / len(P.CLASSES) < acc < 0.9, acc


def test_yaw_range() -> None:
    """max_yaw_deg bounds the heading; the other random parameters do not depend on it."""
    import math

    def yaw_deg(shape) -> float:
        r = np.asarray(shape.rotation)
        return math.degrees(math.atan2(r[0, 2], r[2, 2]))  # heading of the local z axis (tilt <= 6 deg)

    aligned = [P.make_shape("chair", s, max_yaw_deg=0.0) for s in range(6)]
    free = [P.make_shape("chair", s) for s in range(6)]
    assert max(abs(yaw_deg(s)) for s in aligned) < 7.0
    assert max(abs(yaw_deg(s)) for s in free) > 30.0
    for a, b in zip(aligned, free):  # same parts, only the rotation differs
        assert [p.kind for p in a.parts] == [p.kind for p in b.parts]
        assert [p.params for p in a.parts] == [p.params for p in b.parts]
    with pytest.raises(ConfigError):
        P.generate_dataset(1, seed=0, max_yaw_deg=200.0)

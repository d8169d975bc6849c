import numpy as np
import pytest
import trimesh

from nf2vec_core.errors import BadInputError
from nf2vec_core.fields.normalize import normalize_points
from nf2vec_core.fields.sdf import (flood_fill_inside, near_surface_mask, resolve_method, sdf_from_mesh,
                                    sdf_function, unsigned_distance, winding_number)
from nf2vec_core.fields.voxels import voxel_centers


def _box_sdf(p, half=0.5):
    """Analytic SDF of the cube [-half, half]^3."""
    q = np.abs(p) - half
    return np.linalg.norm(np.maximum(q, 0), axis=1) + np.minimum(q.max(1), 0)


def test_box_sdf_matches_analytic():
    box = trimesh.creation.box(extents=(1, 1, 1))
    assert resolve_method(box.vertices, box.faces) == "winding"
    q = np.random.default_rng(0).uniform(-1, 1, (2000, 3))
    sdf = sdf_from_mesh(box.vertices, box.faces, q)
    assert np.allclose(sdf, _box_sdf(q), atol=1e-5)
    for method in ("flood_fill", "hybrid"):   # exact sign away from the surface
        s = sdf_from_mesh(box.vertices, box.faces, q, method=method, fill_resolution=64)
        far = np.abs(_box_sdf(q)) > 2 * np.sqrt(3) / 64
        assert np.array_equal(s[far] < 0, _box_sdf(q)[far] < 0)
        assert np.allclose(np.abs(s), np.abs(_box_sdf(q)), atol=1e-5)


def test_icosphere_sdf_matches_analytic():
    sphere = trimesh.creation.icosphere(subdivisions=4, radius=0.6)
    q = np.random.default_rng(1).uniform(-1, 1, (3000, 3))
    sdf = sdf_from_mesh(sphere.vertices, sphere.faces, q)
    assert np.allclose(sdf, np.linalg.norm(q, axis=1) - 0.6, atol=2e-3)
    assert sdf_from_mesh(sphere.vertices, sphere.faces, np.zeros((1, 3)))[0] == pytest.approx(-0.6, abs=2e-3)


def test_open_box_centre_is_inside():
    box = trimesh.creation.box(extents=(1, 1, 1))
    open_box = trimesh.Trimesh(box.vertices, box.faces[:-2], process=False)  # one face (2 triangles) removed
    assert resolve_method(open_box.vertices, open_box.faces) == "hybrid"
    centre = np.zeros((1, 3))
    assert winding_number(open_box.vertices, open_box.faces, centre)[0] == pytest.approx(5 / 6, abs=1e-3)
    assert sdf_from_mesh(open_box.vertices, open_box.faces, centre)[0] == pytest.approx(-0.5, abs=1e-5)
    # the flood fill alone leaks through the hole: the winding number is what rescues the sign
    assert sdf_from_mesh(open_box.vertices, open_box.faces, centre, method="flood_fill")[0] > 0
    far = sdf_from_mesh(open_box.vertices, open_box.faces, [[3.0, 3.0, 3.0]])[0]
    assert far == pytest.approx(2.5 * np.sqrt(3), abs=1e-5)  # the corner: positive outside


def test_double_sided_soup_centre_is_inside():
    box = trimesh.creation.box(extents=(1, 1, 1))
    soup = trimesh.Trimesh(box.vertices, np.concatenate([box.faces, box.faces[:, ::-1]]), process=False)
    centre = np.zeros((1, 3))
    assert abs(winding_number(soup.vertices, soup.faces, centre)[0]) < 1e-6    # cancels out
    assert sdf_from_mesh(soup.vertices, soup.faces, centre, method="winding")[0] > 0
    assert sdf_from_mesh(soup.vertices, soup.faces, centre)[0] == pytest.approx(-0.5, abs=1e-5)
    inverted = trimesh.Trimesh(box.vertices, box.faces[:, ::-1], process=False)
    assert sdf_from_mesh(inverted.vertices, inverted.faces, centre)[0] < 0     # orientation-agnostic


def test_near_surface_mask_equals_brute_force():
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=0.5)
    r = 64
    brute = (unsigned_distance(sphere.vertices, sphere.faces, voxel_centers(r)) < 0.04).reshape(r, r, r)
    assert np.array_equal(near_surface_mask(sphere.vertices, sphere.faces, r, 0.04), brute)
    solid = flood_fill_inside(sphere.vertices, sphere.faces, 32)
    assert solid[16, 16, 16] and not solid[0, 0, 0]


def test_sdf_function_reuses_sign_structure():
    box = trimesh.creation.box(extents=(1, 1, 1))
    fn = sdf_function(box.vertices, box.faces, method="flood_fill", fill_resolution=32)
    q = np.array([[0.0, 0, 0], [0.9, 0, 0]])
    assert np.allclose(fn(q), [-0.5, 0.4], atol=1e-5) and fn(q).dtype == np.float32


def test_sdf_rejects_bad_meshes():
    q = np.zeros((2, 3))
    with pytest.raises(BadInputError, match="empty mesh"):
        sdf_from_mesh(np.zeros((0, 3)), np.zeros((0, 3), dtype=int), q)
    box = trimesh.creation.box()
    bad = np.array(box.vertices, dtype=np.float64)
    bad[0, 0] = np.nan
    with pytest.raises(BadInputError, match="NaN"):
        sdf_from_mesh(bad, box.faces, q)
    with pytest.raises(BadInputError, match="NaN"):
        sdf_from_mesh(box.vertices, box.faces, np.array([[np.nan, 0, 0]]))
    with pytest.raises(BadInputError, match="zero area"):
        sdf_from_mesh(np.zeros((3, 3)), np.array([[0, 1, 2]]), q)
    with pytest.raises(ValueError, match="unknown sign method"):
        sdf_from_mesh(box.vertices, box.faces, q, method="raycast")


def test_real_chair_mesh_sdf(shared_data):
    path = sorted((shared_data / "meshes" / "shapenet-chairs").glob("*/model.obj"))[-1]
    mesh = trimesh.load(path, force="mesh")
    v, _, _ = normalize_points(mesh.vertices)
    fn = sdf_function(v, mesh.faces, fill_resolution=64)
    far = np.array([[5.0, 5.0, 5.0], [-5.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    assert (fn(far) > 0.05).all()
    q = np.random.default_rng(0).uniform(-1, 1, (4000, 3))
    sdf = fn(q)
    assert 0.005 < (sdf < 0).mean() < 0.6                          # a chair fills part of its box
    assert np.allclose(np.abs(sdf), unsigned_distance(v, mesh.faces, q), atol=1e-6)
    assert (sdf[np.abs(q).max(1) > 0.95] > 0).all()                 # outside the normalised bbox

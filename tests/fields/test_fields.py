import numpy as np
import pytest
import trimesh

from nf2vec_core.errors import BadInputError
from nf2vec_core.fields.normalize import normalize_points
from nf2vec_core.fields.occupancy import voxel_centers, voxelize
from nf2vec_core.fields.sampling import query_pool
from nf2vec_core.fields.sdf import sdf_from_mesh
from nf2vec_core.fields.udf import udf_from_points


def test_normalize_to_canonical_frame():
    pts = np.random.default_rng(0).uniform([1, 2, 3], [3, 3, 4], size=(500, 3))
    out, center, scale = normalize_points(pts)
    assert np.allclose((out.max(0) + out.min(0)) / 2, 0, atol=1e-9)
    assert np.isclose(np.abs(out).max(0).max(), 0.9)
    with pytest.raises(BadInputError, match="coincide"):
        normalize_points(np.ones((5, 3)))
    with pytest.raises(BadInputError, match="NaN"):
        normalize_points(np.array([[0, 0, np.nan], [1, 1, 1.0]]))


def test_query_pool_mix_and_udf_against_brute_force():
    rng = np.random.default_rng(0)
    surf = rng.normal(size=(300, 3)).astype(np.float32)
    surf /= np.linalg.norm(surf, axis=1, keepdims=True) * 2          # sphere of radius 0.5
    q = query_pool(surf, 1000, rng=rng)
    assert q.shape == (1000, 3) and np.abs(q).max() <= 1
    udf = udf_from_points(surf, q, clip=None)
    brute = np.linalg.norm(q[:, None] - surf[None], axis=-1).min(1)
    assert np.allclose(udf, brute, atol=1e-6)
    near = (udf < 0.02).mean()
    assert 0.3 < near < 0.9                                           # most queries hug the surface
    assert udf_from_points(surf, q, clip=0.1).max() <= 0.1


def test_sdf_sign_and_magnitude_watertight_and_open():
    box = trimesh.creation.box(extents=(1, 1, 1))
    q = np.array([[0, 0, 0], [0.9, 0, 0], [0, 0.25, 0]], dtype=np.float64)
    sdf = sdf_from_mesh(box.vertices, box.faces, q)
    assert np.allclose(sdf, [-0.5, 0.4, -0.25], atol=1e-5)
    assert np.allclose(sdf_from_mesh(box.vertices, box.faces, q, method="flood_fill", fill_resolution=64),
                       [-0.5, 0.4, -0.25], atol=1e-5)
    open_box = trimesh.Trimesh(box.vertices, box.faces[:-2])           # one face (two triangles) removed
    assert sdf_from_mesh(open_box.vertices, open_box.faces, q[:1], method="winding")[0] < 0
    # a double-sided soup (every face twice, both orientations): winding numbers cancel, flood fill works
    soup = trimesh.Trimesh(box.vertices, np.concatenate([box.faces, box.faces[:, ::-1]]), process=False)
    assert sdf_from_mesh(soup.vertices, soup.faces, q[:1], method="winding")[0] > 0
    assert sdf_from_mesh(soup.vertices, soup.faces, q[:1])[0] < 0
    with pytest.raises(BadInputError, match="empty mesh"):
        sdf_from_mesh(np.zeros((0, 3)), np.zeros((0, 3), dtype=int), q)


def test_voxelize_sphere_volume():
    vox = voxelize(lambda p: np.linalg.norm(p, axis=1) < 0.6, resolution=48)
    assert abs(vox.mean() - 4 / 3 * np.pi * 0.6 ** 3 / 8) < 0.02 * (4 / 3 * np.pi * 0.6 ** 3 / 8) + 1e-3
    c = voxel_centers(4)
    assert np.allclose(c[0], [-0.75, -0.75, -0.75]) and np.allclose(c[1], [-0.75, -0.75, -0.25])


def test_real_chair_mesh_sdf(shared_data):
    path = sorted((shared_data / "meshes" / "shapenet-chairs").glob("*/model.obj"))[0]
    mesh = trimesh.load(path, force="mesh")
    v, _, _ = normalize_points(mesh.vertices)
    q = np.array([[5.0, 5.0, 5.0], [-5.0, 0.0, 0.0]])
    assert (sdf_from_mesh(v, mesh.faces, q) > 1).all()
    inside = (sdf_from_mesh(v, mesh.faces, np.random.default_rng(0).uniform(-1, 1, (4000, 3))) < 0).mean()
    assert 0.005 < inside < 0.6

"""Single-file readers: real samples (ModelNet .off, ShapeNet .obj, ShapeNet-Part, MNIST) and broken files."""
import gzip

import numpy as np
import pytest
import trimesh

from nf2vec_core.data.readers import (Mesh, load_sklearn_digits, read_mesh, read_mnist_idx, read_obj, read_off,
                                      read_part_shape, read_ply_points, read_pts, read_seg)
from nf2vec_core.errors import BadInputError

CUBE_VERTS = ["0 0 0", "1 0 0", "1 1 0", "0 1 0", "0 0 1", "1 0 1", "1 1 1", "0 1 1"]
CUBE_QUADS = ["4 0 3 2 1", "4 4 5 6 7", "4 0 1 5 4", "4 2 3 7 6", "4 1 2 6 5", "4 0 4 7 3"]
CUBE_BODY = "\n".join(CUBE_VERTS + CUBE_QUADS)


def _raises(fn, path, reason):
    """Assert ``fn(path)`` raises BadInputError whose message names the file and contains the reason."""
    with pytest.raises(BadInputError) as err:
        fn(path)
    assert str(path) in str(err.value), str(err.value)
    assert reason.lower() in str(err.value).lower(), str(err.value)
    return err.value


# ------------------------------------------------------------------ OFF
def test_off_standard_and_malformed_modelnet_header_agree(tmp_path):
    good, bad = tmp_path / "good.off", tmp_path / "bad.off"
    good.write_text("OFF\n8 6 0\n" + CUBE_BODY + "\n")
    bad.write_text("OFF8 6 0\n" + CUBE_BODY)          # the known ModelNet defect: counts glued to OFF
    a, b = read_off(good), read_off(bad)
    assert a.vertices.dtype == np.float32 and a.faces.dtype == np.int64
    assert a.vertices.shape == (8, 3) and a.faces.shape == (12, 3)     # 6 quads -> 12 fan triangles
    assert np.array_equal(a.faces, b.faces) and np.array_equal(a.vertices, b.vertices)
    assert a.is_watertight
    assert np.isclose(a.to_trimesh().area, 6.0) and np.isclose(abs(a.to_trimesh().volume), 1.0)


def test_off_comments_blank_lines_colours_and_mixed_polygons(tmp_path):
    p = tmp_path / "c.off"
    # a square pyramid: one quad base + 4 triangles, colour columns on faces, comments and blanks
    p.write_text("# made by hand\nOFF\n\n5 5 0   # counts\n"
                 "0 0 0\n1 0 0\n1 1 0\n0 1 0\n\n0.5 0.5 1 # apex\n"
                 "4 0 3 2 1 255 0 0\n3 0 1 4\n3 1 2 4\n3 2 3 4\n3 3 0 4\n")
    m = read_mesh(p)
    assert m.faces.shape == (6, 3) and m.is_watertight
    assert m.faces[:2].tolist() == [[0, 3, 2], [0, 2, 1]] and m.faces[2:].tolist()[-1] == [3, 0, 4]


def test_off_all_triangles_matches_trimesh(tmp_path):
    box = trimesh.creation.icosphere(subdivisions=2)
    p = tmp_path / "s.off"
    p.write_text("OFF\n%d %d 0\n" % (len(box.vertices), len(box.faces))
                 + "\n".join(" ".join(map(str, v)) for v in box.vertices) + "\n"
                 + "\n".join("3 " + " ".join(map(str, f)) for f in box.faces))
    m = read_off(p)
    assert np.array_equal(m.faces, box.faces) and np.allclose(m.vertices, box.vertices, atol=1e-6)


@pytest.mark.parametrize("name,content,reason", [
    ("empty", "", "empty file"),
    ("blank", "\n  \n# only a comment\n", "empty file"),
    ("noheader", "8 6 0\n" + CUBE_BODY, "not an OFF file"),
    ("nocounts", "OFF\n", "truncated"),
    ("badcounts", "OFF\nabc 6 0\n" + CUBE_BODY, "bad element counts"),
    ("truncated", "OFF\n8 6 0\n0 0 0\n1 0 0\n", "truncated"),
    ("truncated_faces", "OFF\n8 6 0\n" + "\n".join(CUBE_VERTS + CUBE_QUADS[:3]), "truncated"),
    ("nan", "OFF\n4 2 0\n0 0 0\nnan 0 0\n0 1 0\n0 0 1\n3 0 1 2\n3 0 2 3\n", "NaN"),
    ("zero_area", "OFF\n4 2 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 0 1\n3 2 2 2\n", "zero area"),
    ("collinear", "OFF\n4 2 0\n0 0 0\n1 0 0\n2 0 0\n3 0 0\n3 0 1 2\n3 1 2 3\n", "collinear"),
    ("three_vertices", "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n", "only 3 vertices"),
    ("index_range", "OFF\n4 1 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n3 0 1 9\n", "out of range"),
    ("letters", "OFF\n4 1 0\n0 0 0\n1 x 0\n0 1 0\n0 0 1\n3 0 1 2\n", "malformed vertex"),
    ("short_face", "OFF\n4 1 0\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n4 0 1 2\n", "fewer indices"),
])
def test_bad_off_files_name_file_and_reason(tmp_path, name, content, reason):
    p = tmp_path / f"{name}.off"
    p.write_text(content)
    _raises(read_mesh, p, reason)


def test_missing_binary_and_unsupported_files(tmp_path):
    _raises(read_mesh, tmp_path / "nope.off", "file not found")
    b = tmp_path / "bin.off"
    b.write_bytes(b"OFF\n\xff\xfe\x00\x81")
    _raises(read_off, b, "not a text file")
    u = tmp_path / "x.xyz"
    u.write_text("1 2 3")
    _raises(read_mesh, u, "unsupported mesh format")


# ------------------------------------------------------------------ OBJ / trimesh formats
def test_obj_groups_materials_and_missing_mtl(tmp_path):
    p = tmp_path / "m.obj"
    verts = "\n".join("v " + s for s in CUBE_VERTS)
    p.write_text("mtllib does_not_exist.mtl\n" + verts + "\n"
                 "g bottom\nusemtl red\nf 1 4 3 2\nf 5 6 7 8\n"
                 "g sides\nusemtl blue\nf 1 2 6 5\nf 3 4 8 7\nf 2 3 7 6\nf 1 5 8 4\n")
    m = read_obj(p)
    assert m.faces.shape == (12, 3) and m.vertices.dtype == np.float32
    assert np.isclose(m.to_trimesh().area, 6.0)


@pytest.mark.parametrize("suffix", [".ply", ".stl", ".glb", ".obj"])
def test_read_mesh_dispatches_trimesh_formats(tmp_path, suffix):
    box = trimesh.creation.box()
    p = tmp_path / f"box{suffix}"
    box.export(p)
    m = read_mesh(p)
    assert np.isclose(m.to_trimesh().area, box.area) and m.is_watertight


def test_bad_obj_files(tmp_path):
    e = tmp_path / "e.obj"
    e.write_text("")
    _raises(read_obj, e, "empty")
    v = tmp_path / "v.obj"
    v.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")          # vertices, no faces
    _raises(read_mesh, v, "empty mesh")
    d = tmp_path / "d.obj"
    d.write_text("v 0 0 0\nv 1 0 0\nv 2 0 0\nv 3 0 0\nf 1 2 3\nf 2 3 4\n")
    _raises(read_mesh, d, "collinear")


def test_mesh_dataclass_coerces_and_validates():
    m = Mesh(np.zeros((4, 3), dtype=np.float64), np.zeros((1, 3), dtype=np.int32))
    assert m.vertices.dtype == np.float32 and m.faces.dtype == np.int64
    with pytest.raises(BadInputError, match="in-memory"):
        m.validate(None)
    with pytest.raises(ValueError):
        Mesh(np.zeros((4, 2)), np.zeros((1, 3)))


# ------------------------------------------------------------------ point clouds / parts
def test_ply_points_roundtrip_and_errors(tmp_path):
    pts = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    p = tmp_path / "c.ply"
    trimesh.PointCloud(pts).export(p)
    got = read_ply_points(p)
    assert got.dtype == np.float32 and np.allclose(got, pts)
    same = tmp_path / "same.ply"
    trimesh.PointCloud(np.ones((10, 3))).export(same)
    _raises(read_ply_points, same, "coincide")
    empty = tmp_path / "empty.ply"
    empty.write_bytes(b"")
    _raises(read_ply_points, empty, "empty")


def test_pts_seg_checks(tmp_path):
    pts, seg = tmp_path / "a.pts", tmp_path / "a.seg"
    np.savetxt(pts, np.random.default_rng(1).normal(size=(20, 3)))
    np.savetxt(seg, np.arange(19) % 3 + 1, fmt="%d")
    _raises(lambda s: read_part_shape(pts, s), seg, "19 labels for 20 points")
    np.savetxt(seg, np.arange(20) % 3 + 1, fmt="%d")
    x, y = read_part_shape(pts, seg)
    assert x.shape == (20, 3) and x.dtype == np.float32 and y.dtype == np.int64 and set(y) == {1, 2, 3}
    bad = tmp_path / "b.pts"
    bad.write_text("0 0 0\n1 1 nan\n2 2 2\n")
    _raises(read_pts, bad, "NaN")
    line = tmp_path / "l.pts"
    line.write_text("0 0 0\n1 1 1\n2 2 2\n")
    _raises(read_pts, line, "collinear")
    empty = tmp_path / "e.seg"
    empty.write_text("")
    _raises(read_seg, empty, "empty")
    txt = tmp_path / "t.seg"
    txt.write_text("1\nleg\n")
    _raises(read_seg, txt, "unreadable .seg")


# ------------------------------------------------------------------ MNIST
def _idx(magic, dims, payload: bytes) -> bytes:
    return magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims) + payload


def test_mnist_idx_checks(tmp_path):
    img = tmp_path / "images-idx3-ubyte.gz"
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
    with gzip.open(img, "wb") as f:
        f.write(_idx(0x803, [3, 28, 28], raw.tobytes()))
    lab = tmp_path / "labels-idx1-ubyte"                    # raw (not gzipped)
    lab.write_bytes(_idx(0x801, [3], bytes([7, 0, 9])))
    x, y = read_mnist_idx(img, lab)
    assert x.dtype == np.uint8 and np.array_equal(x, raw) and y.tolist() == [7, 0, 9] and y.dtype == np.int64

    short = tmp_path / "short-labels"
    short.write_bytes(_idx(0x801, [2], bytes(2)))
    _raises(lambda p: read_mnist_idx(img, p), short, "2 labels for 3 images")
    _raises(lambda p: read_mnist_idx(p, lab), lab, "bad idx magic")        # labels file given as images
    cut = tmp_path / "cut-images"
    cut.write_bytes(_idx(0x803, [3, 28, 28], bytes(100)))
    _raises(lambda p: read_mnist_idx(p, lab), cut, "size mismatch")
    broken = tmp_path / "broken.gz"
    broken.write_bytes(gzip.compress(_idx(0x803, [3, 28, 28], raw.tobytes()))[:50])
    _raises(lambda p: read_mnist_idx(p, lab), broken, "unreadable idx")


def test_sklearn_digits():
    x, y = load_sklearn_digits()
    assert x.shape == (1797, 8, 8) and x.dtype == np.float32 and 0 <= x.min() and x.max() == 1
    assert y.dtype == np.int64 and set(y.tolist()) == set(range(10))


# ------------------------------------------------------------------ real samples
def test_real_modelnet_off(shared_data):
    files = sorted((shared_data / "meshes" / "modelnet").glob("*/*.off"))
    assert len(files) == 8
    for f in files:
        m = read_mesh(f)
        ref = trimesh.load(f, process=False)                # trimesh's own OFF reader as reference
        assert np.array_equal(m.faces, ref.faces) and np.allclose(m.vertices, ref.vertices)


def test_real_shapenet_chairs_obj(shared_data):
    files = sorted((shared_data / "meshes" / "shapenet-chairs").glob("*/model.obj"))
    assert len(files) == 12
    m = read_obj(files[0])
    n_f = sum(line.startswith("f ") for line in files[0].read_text().splitlines())
    assert m.faces.shape == (n_f, 3) and m.vertices.shape[1] == 3
    extent = np.ptp(m.vertices, axis=0)
    assert (extent > 0).all() and extent.max() < 10


def test_real_shapenet_part_shape(shared_data):
    root = shared_data / "shapenet-part-sample"
    pts_files = sorted(root.glob("*/points/*.pts"))
    assert len(pts_files) == 16
    for pts in pts_files[:4]:
        seg = pts.parent.parent / "points_label" / (pts.stem + ".seg")
        x, y = read_part_shape(pts, seg)
        assert len(x) == len(y) > 100 and y.min() >= 1


def test_real_mnist(shared_data):
    d = shared_data / "mnist-8k"
    x, y = read_mnist_idx(d / "images-idx3-ubyte.gz", d / "labels-idx1-ubyte.gz")
    assert x.shape == (8000, 28, 28) and x.dtype == np.uint8 and x.max() == 255
    assert y.shape == (8000,) and set(y.tolist()) == set(range(10))
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]     # first MNIST t10k labels

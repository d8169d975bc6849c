"""Point-cloud readers and release layouts, on small files written here and on the real ModelNet40 clouds."""
from collections import Counter

import h5py
import numpy as np
import pytest
import trimesh
from pypcd4 import Encoding, PointCloud

from nf2vec_core.data import pointclouds as pc
from nf2vec_core.data.layouts import SCANNERS
from nf2vec_core.data.pointclouds import (CloudItem, load_cloud, load_clouds, read_cloud, read_points,
                                          scan_clouds)
from nf2vec_core.errors import BadInputError, ConfigError

RNG = np.random.default_rng(0)
PTS = RNG.normal(size=(50, 3)).astype(np.float32)
NRM = RNG.normal(size=(50, 3)).astype(np.float32)


def _write(path, kind, pts=PTS, nrm=None):
    """Write ``pts`` (and ``nrm``) to ``path`` in format ``kind``; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = pts if nrm is None else np.hstack([pts, nrm])
    if kind == "npy":
        np.save(path, cols)
    elif kind == "txt":                                      # modelnet40_normal_resampled style
        np.savetxt(path, cols, delimiter=",", fmt="%.6f")
    elif kind == "txt_space":
        np.savetxt(path, cols, fmt="%.6f", header="x y z")
    elif kind == "ply":
        props = "".join(f"property float {n}\n" for n in ("x", "y", "z", "nx", "ny", "nz")[: cols.shape[1]])
        head = f"ply\nformat binary_little_endian 1.0\nelement vertex {len(cols)}\n{props}end_header\n"
        path.write_bytes(head.encode() + cols.astype("<f4").tobytes())
    elif kind.startswith("pcd_"):
        names = ("x", "y", "z", "normal_x", "normal_y", "normal_z")[: cols.shape[1]]
        cloud = PointCloud.from_points(cols, names, (np.float32,) * len(names))
        cloud.save(path, encoding=Encoding(kind[4:]))
    else:
        raise AssertionError(kind)
    return path


SUFFIX = {"npy": ".npy", "txt": ".txt", "txt_space": ".txt", "ply": ".ply",
          "pcd_ascii": ".pcd", "pcd_binary": ".pcd", "pcd_binary_compressed": ".pcd"}


# ------------------------------------------------------------------------ formats
@pytest.mark.parametrize("kind", sorted(SUFFIX))
@pytest.mark.parametrize("with_normals", [False, True])
def test_every_format_reads_points_and_normals(tmp_path, kind, with_normals):
    path = _write(tmp_path / f"c{SUFFIX[kind]}", kind, nrm=NRM if with_normals else None)
    cloud = read_cloud(path, normals=True)
    assert cloud.points.dtype == np.float32 and cloud.points.shape == (50, 3)
    np.testing.assert_allclose(cloud.points, PTS, atol=1e-5)
    if with_normals:
        np.testing.assert_allclose(cloud.normals, NRM, atol=1e-5)
        assert cloud.normals.dtype == np.float32
    else:
        assert cloud.normals is None
    assert read_cloud(path).normals is None               # normals only when asked for
    np.testing.assert_allclose(read_points(path), PTS, atol=1e-5)


def test_handwritten_pcl_files(tmp_path):
    """PCD as PCL writes it: comments, padding field '_', rgb, ascii and binary with the same header."""
    head = ("# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS x y z rgb\nSIZE 4 4 4 4\n"
            "TYPE F F F U\nCOUNT 1 1 1 1\nWIDTH 4\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS 4\nDATA {}\n")
    pts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    (tmp_path / "a.pcd").write_text(head.format("ascii") + "".join(f"{x} {y} {z} 4278190080\n" for x, y, z in pts))
    rec = np.zeros(4, dtype=[("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("rgb", "<u4")])
    rec["x"], rec["y"], rec["z"] = pts.T
    (tmp_path / "b.pcd").write_bytes(head.format("binary").encode() + rec.tobytes())
    for name in ("a.pcd", "b.pcd"):
        np.testing.assert_array_equal(read_points(tmp_path / name), pts)
    (tmp_path / "short.pcd").write_bytes(head.format("binary").encode() + rec.tobytes()[:-16])
    with pytest.raises(BadInputError, match=r"short\.pcd: truncated: header announces 4 points, file holds 3"):
        read_points(tmp_path / "short.pcd")


def test_mesh_ply_gives_its_vertices(tmp_path):
    mesh = trimesh.creation.icosahedron()
    mesh.export(tmp_path / "ico.ply")
    np.testing.assert_allclose(read_points(tmp_path / "ico.ply"), mesh.vertices, atol=1e-6)


def _bad_files(tmp_path):
    """(path, reason pattern) for files every reader must reject."""
    d = tmp_path
    cases = []
    np.save(d / "cols4.npy", np.zeros((10, 4), np.float32)); cases.append(("cols4.npy", r"shape \(10, 4\)"))
    np.save(d / "flat.npy", np.zeros(30, np.float32)); cases.append(("flat.npy", r"shape \(30,\)"))
    np.save(d / "empty.npy", np.zeros((0, 3), np.float32)); cases.append(("empty.npy", "empty point cloud"))
    nan = PTS.copy(); nan[3, 1] = np.nan
    np.save(d / "nan.npy", nan); cases.append(("nan.npy", "NaN/inf"))
    np.save(d / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    cases.append(("obj.npy", "unreadable .npy"))
    np.save(d / "words.npy", np.array([["a", "b", "c"]])); cases.append(("words.npy", "dtype <U1"))
    raw = (d / "cols4.npy").read_bytes()
    (d / "trunc.npy").write_bytes(raw[: len(raw) - 20]); cases.append(("trunc.npy", "unreadable .npy"))
    (d / "junk.npy").write_bytes(b"not numpy at all"); cases.append(("junk.npy", "junk.npy: not a .npy file"))
    (d / "zero.npy").write_bytes(b""); cases.append(("zero.npy", "empty file"))
    (d / "line.npy").parent.mkdir(exist_ok=True)
    np.save(d / "line.npy", np.outer(np.arange(10.0), [1, 2, 3])); cases.append(("line.npy", "collinear"))
    (d / "cols4.txt").write_text("1,2,3,4\n5,6,7,8\n"); cases.append(("cols4.txt", r"shape \(2, 4\)"))
    (d / "ragged.txt").write_text("1,2,3\n4,5\n"); cases.append(("ragged.txt", "unreadable point-cloud text"))
    (d / "words.txt").write_text("a b c\n"); cases.append(("words.txt", "unreadable point-cloud text"))
    (d / "comments.txt").write_text("# nothing\n\n"); cases.append(("comments.txt", "no points"))
    (d / "inf.txt").write_text("0 0 0\n1 0 0\n0 inf 0\n"); cases.append(("inf.txt", "NaN/inf"))
    (d / "bin.txt").write_bytes(b"\xff\xfe\x00\x01" * 8); cases.append(("bin.txt", "unreadable point-cloud text"))
    (d / "junk.ply").write_bytes(b"ply\nformat ascii 1.0\nelement vertex 5\nend_header\n1 2\n")
    cases.append(("junk.ply", "unreadable point cloud|empty point cloud|no vertices|truncated"))
    (d / "junk.pcd").write_text("hello\n"); cases.append(("junk.pcd", "unreadable PCD \\(ValidationError"))
    _write(d / "nofields.pcd", "pcd_ascii")
    (d / "nofields.pcd").write_text((d / "nofields.pcd").read_text().replace("FIELDS x y z", "FIELDS a b c"))
    cases.append(("nofields.pcd", "lack x, y, z"))
    b = _write(d / "cut.pcd", "pcd_binary").read_bytes()
    (d / "cut.pcd").write_bytes(b[:-6]); cases.append(("cut.pcd", "unreadable PCD|truncated"))
    (d / "cloud.xyz").write_text("1 2 3\n"); cases.append(("cloud.xyz", "unsupported point-cloud format '.xyz'"))
    cases.append(("missing.npy", "file not found"))
    return [(d / name, reason) for name, reason in cases]


def test_bad_files_name_the_file_and_the_reason(tmp_path):
    for path, reason in _bad_files(tmp_path):
        with pytest.raises(BadInputError, match=reason) as err:
            read_cloud(path)
        assert err.value.path == str(path) and "\n" not in str(err.value), path
        assert "BadInputError" not in err.value.reason, path                  # wrapped once


def test_bad_normals_are_rejected_only_when_asked_for(tmp_path):
    nrm = NRM.copy(); nrm[0, 0] = np.inf
    path = _write(tmp_path / "n.txt", "txt", nrm=nrm)
    assert read_cloud(path).points.shape == (50, 3)
    with pytest.raises(BadInputError, match="normals contain NaN/inf"):
        read_cloud(path, normals=True)


# ------------------------------------------------------------------ folder layouts
def _tree(root, files, kind="npy"):
    for i, rel in enumerate(files):
        _write(root / f"{rel}{SUFFIX[kind]}", kind, pts=PTS + i)
    return root


def test_class_split_folders(tmp_path):
    _tree(tmp_path, ["table/train/t1", "table/test/t2", "chair/training/c1", "chair/train/c2", "chair/test/c3"])
    _write(tmp_path / "__MACOSX" / "chair" / "train" / "._c1.npy", "npy")
    _write(tmp_path / "chair" / ".cache" / "c9.npy", "npy")
    (tmp_path / "README.txt").write_text("ModelNet40 clouds\n")    # metadata at the root is not a cloud
    (tmp_path / "chair" / "train" / "notes.md").write_text("x")
    listing = scan_clouds(tmp_path)
    assert listing.layout == "class_split" and listing.classes == ("chair", "table")
    assert [(it.id, it.class_name, it.split) for it in listing] == [
        ("chair/test/c3", "chair", "test"), ("chair/train/c2", "chair", "train"),
        ("chair/training/c1", "chair", "train"), ("table/test/t2", "table", "test"),
        ("table/train/t1", "table", "train")]
    assert listing.labels().tolist() == [0, 0, 0, 1, 1]
    clouds = load_clouds(listing.items, progress=False)
    np.testing.assert_allclose(clouds[4].points, PTS + 0, atol=1e-6)     # table/train/t1 was written first
    np.testing.assert_allclose(clouds[0].points, PTS + 4, atol=1e-6)


@pytest.mark.parametrize("kind", ["txt", "ply", "pcd_binary"])
def test_class_folders_without_split(tmp_path, kind):
    _tree(tmp_path, ["b/x", "a/y", "a/z"], kind)
    listing = scan_clouds(tmp_path)
    assert listing.layout == "class" and listing.classes == ("a", "b")
    assert [(it.id, it.split) for it in listing] == [("a/y", None), ("a/z", None), ("b/x", None)]
    items = listing.to_items()
    assert [(i.class_name, i.split) for i in items] == [("a", "unknown"), ("a", "unknown"), ("b", "unknown")]
    assert load_cloud(listing.items[2]).points.shape == (50, 3)


def test_unlabelled_flat_folder(tmp_path):
    _tree(tmp_path, ["scan_b", "scan_a"], "pcd_ascii")
    listing = scan_clouds(tmp_path)
    assert listing.layout == "flat" and listing.classes == () and not listing.labelled
    assert [(it.id, it.class_name, it.split) for it in listing] == [("scan_a", None, None), ("scan_b", None, None)]
    assert listing.labels().tolist() == [-1, -1]
    np.testing.assert_allclose(load_cloud(listing.items[1]).points, PTS, atol=1e-6)
    with pytest.raises(BadInputError, match="unlabelled point clouds"):
        listing.to_items()


def test_ambiguous_and_empty_folder_trees(tmp_path):
    mixed = _tree(_tree(tmp_path / "mixed", ["a/train/x"], "npy"), ["a/train/y"], "ply")
    with pytest.raises(BadInputError, match=r"mixed point-cloud formats \(\.npy: 1 files, \.ply: 1 files\)"):
        scan_clouds(mixed)
    assert [it.id for it in scan_clouds(mixed, ext="ply")] == ["a/train/y"]
    assert [it.id for it in scan_clouds(mixed, ext=".NPY")] == ["a/train/x"]
    depths = _tree(tmp_path / "depths", ["a/train/x", "b/y"])
    with pytest.raises(BadInputError, match=r"ambiguous layout.*'b/y\.npy'"):
        scan_clouds(depths)
    odd = _tree(tmp_path / "odd", ["a/parts/x"])
    with pytest.raises(BadInputError, match="unrecognised split folder") as err:
        scan_clouds(odd)
    assert err.value.path == str(odd / "a" / "parts")
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "a.csv").write_text("1,2,3\n")
    for root, reason in ((tmp_path / "none", "no point clouds found"), (tmp_path / "missing", "not a directory")):
        with pytest.raises(BadInputError, match=reason) as err:
            scan_clouds(root)
        assert err.value.path == str(root)
    with pytest.raises(ConfigError, match="param 'ext': unsupported point-cloud format '.obj'"):
        scan_clouds(mixed, ext="obj")
    with pytest.raises(ConfigError, match="param 'layout': unknown point-cloud layout"):
        scan_clouds(mixed, layout="modelnet")


# --------------------------------------------------------- modelnet40_normal_resampled
def _normal_resampled(root):
    """A miniature modelnet40_normal_resampled: shape names in a non-sorted order, split lists, 6-column txt."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "modelnet40_shape_names.txt").write_text("night_stand\nairplane\nbowl\n")
    (root / "modelnet40_train.txt").write_text("airplane_0001\nnight_stand_0001\nnight_stand_0002\n")
    (root / "modelnet40_test.txt").write_text("airplane_0627\nbowl_0065\n\n")
    (root / "modelnet10_shape_names.txt").write_text("night_stand\n")
    (root / "modelnet10_train.txt").write_text("night_stand_0001\n")
    (root / "filelist.txt").write_text("airplane/airplane_0001.txt\n")
    for i, entry in enumerate(("airplane_0001", "night_stand_0001", "night_stand_0002", "airplane_0627", "bowl_0065")):
        _write(root / entry.rsplit("_", 1)[0] / f"{entry}.txt", "txt", pts=PTS + i, nrm=NRM)
    _write(root / "bowl" / "bowl_0099.txt", "txt")             # in no split list: not an item
    return root


def test_normal_resampled_release(tmp_path):
    root = _normal_resampled(tmp_path / "modelnet40_normal_resampled")
    listing = scan_clouds(root)
    assert listing.layout == "normal_resampled"
    assert listing.classes == ("night_stand", "airplane", "bowl")           # the file's order
    assert [(it.id, it.split) for it in listing] == [
        ("airplane/airplane_0001", "train"), ("airplane/airplane_0627", "test"), ("bowl/bowl_0065", "test"),
        ("night_stand/night_stand_0001", "train"), ("night_stand/night_stand_0002", "train")]
    assert listing.labels().tolist() == [1, 1, 2, 0, 0]
    cloud = load_cloud(listing.items[1], normals=True)
    np.testing.assert_allclose(cloud.points, PTS + 3, atol=1e-5)
    np.testing.assert_allclose(cloud.normals, NRM, atol=1e-5)
    ten = scan_clouds(root, prefix="modelnet10")
    assert ten.classes == ("night_stand",) and [it.id for it in ten] == ["night_stand/night_stand_0001"]
    assert [i.class_name for i in SCANNERS["pointclouds"](root)] == ["airplane", "airplane", "bowl",
                                                                      "night_stand", "night_stand"]


def test_normal_resampled_bad_lists(tmp_path):
    root = _normal_resampled(tmp_path / "r")
    (root / "modelnet40_test.txt").write_text("airplane_0627\ncup_0001\n")
    with pytest.raises(BadInputError, match="line 2: unknown class 'cup'") as err:
        scan_clouds(root)
    assert err.value.path == str(root / "modelnet40_test.txt")
    (root / "modelnet40_test.txt").write_text("airplane_0001\n")
    with pytest.raises(BadInputError, match="'airplane_0001' already listed in modelnet40_train.txt"):
        scan_clouds(root)
    (root / "modelnet40_test.txt").write_text("bowl_0100\n")                   # listed, file absent
    missing = [it for it in scan_clouds(root) if it.id == "bowl/bowl_0100"][0]
    with pytest.raises(BadInputError, match="file not found"):
        load_cloud(missing)
    (root / "modelnet40_train.txt").unlink(); (root / "modelnet40_test.txt").unlink()
    with pytest.raises(BadInputError, match=r"no split files modelnet40_\{train,test\}\.txt"):
        scan_clouds(root)
    (root / "modelnet40_shape_names.txt").write_text("\n")
    with pytest.raises(BadInputError, match="no class names"):
        scan_clouds(root)
    (root / "modelnet40_shape_names.txt").unlink()
    (root / "other_shape_names.txt").write_text("a\n")
    with pytest.raises(BadInputError, match="several shape-name lists"):
        scan_clouds(root)


# ------------------------------------------------------------- modelnet40_ply_hdf5_2048
def _h5(path, data, label=None, normal=None):
    with h5py.File(path, "w") as f:
        f["data"] = data
        if label is not None:
            f["label"] = label
        if normal is not None:
            f["normal"] = normal
    return path


def _hdf5_release(root):
    root.mkdir(parents=True, exist_ok=True)
    (root / "shape_names.txt").write_text("airplane\nbathtub\nbed\n")
    data = np.stack([PTS + i for i in range(5)]).astype(np.float32)
    _h5(root / "ply_data_train0.h5", data[:3], np.array([[2], [0], [2]], np.uint8), np.stack([NRM] * 3))
    _h5(root / "ply_data_test0.h5", data[3:], np.array([[1], [1]], np.uint8), np.stack([NRM] * 2))
    (root / "train_files.txt").write_text("data/modelnet40_ply_hdf5_2048/ply_data_train0.h5\n")
    return root


def test_hdf5_release(tmp_path, monkeypatch):
    root = _hdf5_release(tmp_path / "modelnet40_ply_hdf5_2048")
    listing = scan_clouds(root)
    assert listing.layout == "hdf5" and listing.classes == ("airplane", "bathtub", "bed")
    assert [(it.id, it.class_name, it.split, it.row) for it in listing] == [
        ("ply_data_test0/0000", "bathtub", "test", 0), ("ply_data_test0/0001", "bathtub", "test", 1),
        ("ply_data_train0/0000", "bed", "train", 0), ("ply_data_train0/0001", "airplane", "train", 1),
        ("ply_data_train0/0002", "bed", "train", 2)]
    assert listing.items[1].source == f"{root / 'ply_data_test0.h5'}[1]"
    opened = []
    real_file = h5py.File
    monkeypatch.setattr(h5py, "File", lambda *a, **k: opened.append(a[0]) or real_file(*a, **k))
    pc.clear_cache()
    clouds = load_clouds(listing.items, normals=True, progress=False)
    assert len(opened) == 2                                      # each file read once, not once per row
    for cloud, expected in zip(clouds, [3, 4, 0, 1, 2]):
        np.testing.assert_allclose(cloud.points, PTS + expected, atol=1e-6)
        np.testing.assert_allclose(cloud.normals, NRM, atol=1e-6)
    clouds[0].points[:] = 0                                      # callers own their arrays
    np.testing.assert_allclose(load_cloud(listing.items[0]).points, PTS + 3, atol=1e-6)
    items = SCANNERS["pointclouds"](root)
    assert items[3].extra == {"row": 1} and items[3].split == "train"


def test_hdf5_bad_releases(tmp_path):
    root = _hdf5_release(tmp_path / "r")
    (root / "shape_names.txt").unlink()
    with pytest.raises(BadInputError, match="file not found") as err:
        scan_clouds(root)
    assert err.value.path == str(root / "shape_names.txt")
    (root / "shape_names.txt").write_text("airplane\nbathtub\n")
    with pytest.raises(BadInputError, match="label 2 of row 0 out of range for the 2 names in shape_names.txt"):
        scan_clouds(root)
    bad = tmp_path / "b"
    bad.mkdir()
    (bad / "shape_names.txt").write_text("a\n")
    _h5(bad / "ply_data_train0.h5", np.zeros((2, 5, 4), np.float32), np.zeros(2, np.int64))
    with pytest.raises(BadInputError, match=r"'data' has shape \(2, 5, 4\)"):
        scan_clouds(bad)
    _h5(bad / "ply_data_train0.h5", np.zeros((2, 5, 3), np.float32), np.zeros(3, np.int64))
    with pytest.raises(BadInputError, match=r"'label' has shape \(3,\)"):
        scan_clouds(bad)
    _h5(bad / "ply_data_train0.h5", np.zeros((2, 5, 3), np.float32), np.zeros(2, np.int64))
    (bad / "ply_data_test0.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 40)   # truncated
    with pytest.raises(BadInputError, match="unreadable HDF5 file") as err:
        scan_clouds(bad)
    assert err.value.path == str(bad / "ply_data_test0.h5")


def test_hdf5_bad_row_rejects_that_row_only(tmp_path):
    data = np.stack([PTS, PTS, PTS]).astype(np.float32)
    data[1, 7, 2] = np.nan
    _h5(tmp_path / "clouds_train.h5", data)                           # no labels: unlabelled rows
    listing = scan_clouds(tmp_path)
    assert not listing.labelled and [it.split for it in listing] == ["train"] * 3
    pc.clear_cache()
    assert load_cloud(listing.items[0]).points.shape == (50, 3)
    with pytest.raises(BadInputError, match=r"clouds_train\.h5\[1\]: point coordinates contain NaN/inf"):
        load_cloud(listing.items[1])
    gone = CloudItem("x", tmp_path / "clouds_train.h5", None, None, row=9)
    with pytest.raises(BadInputError, match="row out of range"):
        load_cloud(gone)


# ------------------------------------------------------------------ real samples
REAL_COUNTS = {"airplane": 626, "bowl": 64, "chair": 889, "night_stand": 200, "toilet": 344}


def test_real_modelnet40_pc1024(shared_data):
    root = shared_data / "modelnet40-pc1024"
    if not root.is_dir():
        pytest.skip(f"{root} not found")
    listing = scan_clouds(root)
    assert listing.layout == "class_split" and len(listing) == 9843 and len(listing.classes) == 40
    assert listing.classes[:3] == ("airplane", "bathtub", "bed") and listing.classes[-1] == "xbox"
    counts = Counter(it.class_name for it in listing)
    assert {c: counts[c] for c in REAL_COUNTS} == REAL_COUNTS
    assert {it.split for it in listing} == {"train"}
    assert listing.items[0].id == "airplane/train/airplane_0001"
    picks = [listing.items[i] for i in (0, 4321, 9842)]
    for cloud in load_clouds(picks, progress=False):
        assert cloud.points.shape == (1024, 3) and cloud.points.dtype == np.float32
        assert np.linalg.norm(cloud.points, axis=1).max() <= 1.0 + 1e-5
    assert len(SCANNERS["pointclouds"](root)) == 9843

"""Dataset layout scanners and the deterministic re-split, on synthetic trees and the real samples."""
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import trimesh

from nf2vec_core.data.items import Item
from nf2vec_core.data.layouts import (SCANNERS, load_shapenet_taxonomy, scan_manifold40, scan_modelnet,
                                      scan_pointcloud_ply, scan_shapenet_part, scan_shapenetcore, stray_files)
from nf2vec_core.data.prepare import assign_splits
from nf2vec_core.data.readers import read_mesh, read_part_shape, read_ply_points
from nf2vec_core.errors import BadInputError, ConfigError


def _touch(path, text="x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# ------------------------------------------------------------------ synthetic layouts
def test_modelnet_split_layout_and_ignored_debris(tmp_path):
    for cls in ("bed", "bathtub"):
        for split, n in (("train", 3), ("test", 2)):
            for i in range(n):
                _touch(tmp_path / cls / split / f"{cls}_{split}{i:04d}.off")
    _touch(tmp_path / "__MACOSX" / "bed" / "train" / "._bed_0001.off")
    _touch(tmp_path / ".hidden" / "train" / "x.off")
    _touch(tmp_path / "bed" / "train" / "notes.txt")
    items = scan_modelnet(tmp_path)
    assert len(items) == 10 and [i.id for i in items] == sorted(i.id for i in items)
    assert Counter((i.class_name, i.split) for i in items) == {
        ("bed", "train"): 3, ("bed", "test"): 2, ("bathtub", "train"): 3, ("bathtub", "test"): 2}
    assert items[0].id == "bathtub/test/bathtub_test0000" and items[0].path.is_file()


def test_files_of_another_format_are_strays_and_suffixes_match_any_case(tmp_path):
    _touch(tmp_path / "bed" / "train" / "bed_0001.off")
    _touch(tmp_path / "bed" / "train" / "bed_0002.OFF")                 # upper-case suffix: still an item
    _touch(tmp_path / "bed" / "train" / "bed_0003.obj")                 # a mesh of another format
    _touch(tmp_path / "bed" / "bed_0004.PLY")
    _touch(tmp_path / "bed" / "train" / "notes.txt")                    # not a data file: ignored
    _touch(tmp_path / ".cache" / "x" / "y.obj")                         # hidden: ignored
    assert [i.id for i in scan_modelnet(tmp_path)] == ["bed/train/bed_0001", "bed/train/bed_0002"]
    strays = stray_files(tmp_path, ".off")
    assert [(i.id, i.class_name) for i in strays] == [("bed/bed_0004.PLY", "bed"), ("bed/train/bed_0003.obj", "bed")]
    (tmp_path / "bed" / "train" / "bed_0001.off").unlink()
    (tmp_path / "bed" / "train" / "bed_0002.OFF").unlink()
    with pytest.raises(BadInputError, match="found 2 file.s. of another format, e.g. 'bed/bed_0004.PLY'"):
        scan_modelnet(tmp_path)


def test_pointcloud_ply_layout(tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("chair", "table"):
        for split in ("train", "test"):
            for k in range(2):
                d = tmp_path / cls / split
                d.mkdir(parents=True, exist_ok=True)
                trimesh.PointCloud(rng.normal(size=(40, 3))).export(d / f"{cls}_{k}.ply")
    items = scan_pointcloud_ply(tmp_path)
    assert len(items) == 8
    assert [(i.class_name, i.split) for i in items[:3]] == [("chair", "test")] * 2 + [("chair", "train")]
    assert read_ply_points(items[0].path).shape == (40, 3)
    with pytest.raises(BadInputError) as err:
        scan_modelnet(tmp_path)                                # .ply tree is not a ModelNet tree
    assert str(tmp_path) in str(err.value) and "no recognised files" in str(err.value)


def test_manifold40_two_classes(tmp_path):
    for cls, maker in (("airplane", trimesh.creation.box), ("cup", trimesh.creation.icosphere)):
        for split in ("train", "test"):
            d = tmp_path / cls / split
            d.mkdir(parents=True)
            maker().export(d / f"{cls}_0001.obj")
    items = scan_manifold40(tmp_path)
    assert [i.id for i in items] == ["airplane/test/airplane_0001", "airplane/train/airplane_0001",
                                     "cup/test/cup_0001", "cup/train/cup_0001"]
    assert {i.split for i in items} == {"train", "test"}
    assert all(read_mesh(i.path).is_watertight for i in items)


def test_shapenetcore_nested_v1_v2_and_taxonomy(tmp_path):
    _touch(tmp_path / "03001627" / "aaa" / "model.obj")
    _touch(tmp_path / "03001627" / "bbb" / "models" / "model_normalized.obj")
    _touch(tmp_path / "04379243" / "ccc" / "model.obj")
    items = scan_shapenetcore(tmp_path)
    assert [(i.id, i.class_name, i.split) for i in items] == [
        ("03001627/aaa", "03001627", "unknown"), ("03001627/bbb", "03001627", "unknown"),
        ("04379243/ccc", "04379243", "unknown")]
    tax = _touch(tmp_path / "taxonomy.json", json.dumps([
        {"synsetId": "03001627", "name": "chair", "children": []},
        {"synsetId": "04379243", "name": "table,tabular array", "children": []}]))
    named = scan_shapenetcore(tmp_path, taxonomy=load_shapenet_taxonomy(tax))
    assert [i.class_name for i in named] == ["chair", "chair", "table"]
    with pytest.raises(ConfigError, match="class_name"):
        scan_shapenetcore(tmp_path, class_name="chair")
    bad = _touch(tmp_path / "bad_tax.json", "{not json")
    with pytest.raises(BadInputError, match="taxonomy"):
        load_shapenet_taxonomy(bad)


def test_shapenet_part_synthetic_unknown_split_and_bad_json(tmp_path):
    _touch(tmp_path / "synsetoffset2category.txt", "Airplane\t02691156\nChair\t03001627\n")
    for syn, ids in (("02691156", ["a1", "a2"]), ("03001627", ["c1"])):
        for i in ids:
            _touch(tmp_path / syn / "points" / f"{i}.pts", "0 0 0\n1 0 0\n0 1 0\n0 0 1\n")
            _touch(tmp_path / syn / "points_label" / f"{i}.seg", "1\n1\n2\n2\n")
    _touch(tmp_path / "train_test_split" / "shuffled_train_file_list.json", json.dumps(["shape_data/02691156/a1"]))
    _touch(tmp_path / "train_test_split" / "shuffled_test_file_list.json", json.dumps(["shape_data/03001627/c1"]))
    items = scan_shapenet_part(tmp_path)
    assert [(i.id, i.class_name, i.split) for i in items] == [
        ("02691156/a1", "Airplane", "train"), ("02691156/a2", "Airplane", "unknown"), ("03001627/c1", "Chair", "test")]
    pts, lab = read_part_shape(items[0].path, items[0].extra["seg_path"])
    assert pts.shape == (4, 3) and lab.tolist() == [1, 1, 2, 2]
    bad = _touch(tmp_path / "train_test_split" / "shuffled_val_file_list.json", "[oops")
    with pytest.raises(BadInputError) as err:
        scan_shapenet_part(tmp_path)
    assert str(bad) in str(err.value) and "not valid JSON" in str(err.value)


@pytest.mark.parametrize("scanner", sorted(SCANNERS))
def test_every_scanner_rejects_empty_and_missing_roots(tmp_path, scanner):
    (tmp_path / "empty").mkdir()
    _touch(tmp_path / "empty" / "readme.txt")
    for root in (tmp_path / "empty", tmp_path / "missing"):
        with pytest.raises(BadInputError) as err:
            SCANNERS[scanner](root)
        assert str(root) in str(err.value)


# ------------------------------------------------------------------ real samples
def test_real_modelnet_flat_sample(shared_data):
    items = scan_modelnet(shared_data / "meshes" / "modelnet")
    assert len(items) == 8 and Counter(i.class_name for i in items) == {"bathtub": 5, "bed": 3}
    assert {i.split for i in items} == {"unknown"} and items[0].id == "bathtub/bathtub_0001"
    resplit = assign_splits([i.id for i in items], [i.class_name for i in items], 0.0, 0.25, seed=0)
    assert Counter(resplit) == {"train": 6, "test": 2}
    assert len(read_mesh(items[-1].path).faces) > 0


def test_real_shapenet_chairs_flat(shared_data):
    root = shared_data / "meshes" / "shapenet-chairs"
    items = scan_shapenetcore(root, class_name="chair")
    assert len(items) == 12 and {i.class_name for i in items} == {"chair"}
    assert all(i.path.name == "model.obj" and i.id == f"chair/{i.path.parent.name}" for i in items)
    assert scan_shapenetcore(root)[0].class_name == "shapenet-chairs"   # default: the folder's name


def test_real_shapenet_part_sample(shared_data):
    root = shared_data / "shapenet-part-sample"
    items = scan_shapenet_part(root)
    assert len(items) == 16 and len({i.class_name for i in items}) == 16
    assert {"Airplane", "Chair", "Table", "Mug"} <= {i.class_name for i in items}
    listed = set()
    for f in (root / "train_test_split").glob("shuffled_*_file_list.json"):
        listed |= {"/".join(e.split("/")[-2:]) for e in json.loads(f.read_text())}
    for it in items:
        assert it.extra["seg_path"].is_file()
        assert (it.split != "unknown") == (it.id in listed)
    pts, lab = read_part_shape(items[0].path, items[0].extra["seg_path"])
    assert len(pts) == len(lab) > 100

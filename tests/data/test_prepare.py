import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from nf2vec_core.data.prepare import DatasetParams, SplitParams, assign_splits, prepare_dataset
from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.fitting.engine import FitConfig, fit_chunk
from nf2vec_core.fitting.quality import quality
from nf2vec_core.fitting.targets import fit_targets
from nf2vec_core.nf.init import init_batch
from nf2vec_core.nf.layout import ArchSpec
from nf2vec_core.store.prepared import PreparedData


def test_splits_are_deterministic_stratified_and_order_free():
    ids = [f"c{i % 3}_{i}" for i in range(60)]
    cls = [f"c{i % 3}" for i in range(60)]
    a = assign_splits(ids, cls, 0.1, 0.2, seed=1)
    b = assign_splits(ids[::-1], cls[::-1], 0.1, 0.2, seed=1)[::-1]
    assert a == b
    df = pd.DataFrame({"c": cls, "s": a})
    assert (df[df.s == "test"].groupby("c").size() == 4).all()
    assert (df[df.s == "val"].groupby("c").size() == 2).all()
    assert assign_splits(ids, cls, 0.1, 0.2, seed=2) != a                      # the seed matters
    # one more item of class c0 leaves the other classes' splits untouched
    more = assign_splits(ids + ["c0_extra"], cls + ["c0"], 0.1, 0.2, seed=1)
    assert [s for s, c in zip(more, cls) if c != "c0"] == [s for s, c in zip(a, cls) if c != "c0"]
    assert assign_splits(["x"], ["lonely"], 0.1, 0.2, seed=1) == ["train"]     # a singleton class stays trainable


def test_procedural_occupancy_prepare_and_fit(tmp_path):
    p = DatasetParams(source="procedural", field="occupancy", n_per_class=2, classes=["table", "chair"],
                      resolution=24, n_offgrid=512, n_surface=256, split=SplitParams(0.0, 0.5))
    meta = prepare_dataset(p, tmp_path)
    data = PreparedData(tmp_path)
    assert meta["count"] == 4 and data.tensor("voxels").shape == (4, 24, 24, 24)
    assert data.tensor("surface_labels").max() >= 1          # part labels carried along
    spec = ArchSpec("siren", in_dim=3, hidden=32, depth=2, w0=10.0)
    theta0 = init_batch(spec, 4, mode="shared", seed=0)
    theta, _ = fit_chunk(spec, theta0, fit_targets(data, 0, 4),
                         FitConfig(steps=300, lr=5e-3, points_per_step=1024, loss="bce"))
    before, after = quality(spec, theta0, data, 0, 4), quality(spec, theta, data, 0, 4)
    assert after["iou"].mean() > before["iou"].mean() + 0.1
    assert torch.isfinite(after["iou_offgrid"]).all()


def test_real_modelnet_sdf_with_a_corrupt_file(shared_data, tmp_path):
    root = tmp_path / "modelnet"
    shutil.copytree(shared_data / "meshes" / "modelnet", root)
    (root / "bed" / "bed_9999.off").write_text("OFF\n3 1 0\n0 0 0\n")       # truncated
    (root / "bathtub").joinpath("bathtub_0002.off").unlink()
    (root / "bathtub").joinpath("bathtub_0003.off").unlink()
    (root / "bathtub").joinpath("bathtub_0005.off").unlink()
    p = DatasetParams(source="modelnet", field="sdf", root=str(root), n_per_class=0, n_queries=2048,
                      n_offgrid=512, n_surface=512, sign_resolution=48)
    meta = prepare_dataset(p, tmp_path / "out")
    rejected = pd.read_csv(tmp_path / "out" / "rejected.csv")
    assert meta["count"] == 5 and len(rejected) == 1 and "truncated" in rejected["reason"][0]
    data = PreparedData(tmp_path / "out")
    assert (data.tensor("values") < 0).any() and (data.tensor("values") > 0).any()


def test_mnist_pixels(shared_data, tmp_path):
    p = DatasetParams(source="mnist", field="pixels", root=str(shared_data / "mnist-8k"), n_per_class=5)
    meta = prepare_dataset(p, tmp_path)
    img = PreparedData(tmp_path).tensor("images")
    assert meta["count"] == 50 and img.shape == (50, 28, 28, 1) and 0 <= float(img.min()) and float(img.max()) <= 1


def test_bad_params():
    with pytest.raises(ConfigError, match="source"):
        DatasetParams(source="imagenet")
    with pytest.raises(ConfigError, match="pixels"):
        DatasetParams(source="digits", field="occupancy")


def _sphere(n, rng, radius=0.8):
    v = rng.normal(size=(n, 3))
    return (radius * v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _cube(n, rng, half=0.6):
    pts = rng.uniform(-half, half, size=(n, 3))
    axis = rng.integers(0, 3, n)
    pts[np.arange(n), axis] = np.where(rng.random(n) < 0.5, -half, half)
    return pts.astype(np.float32)


def _cloud_tree(root, per_class=10, test_folder=3):
    """<class>/{train,test}/*.npy clouds: spheres and cubes, plus one garbage file."""
    rng = np.random.default_rng(0)
    for cls, make in (("ball", _sphere), ("box", _cube)):
        for split, n in (("train", per_class), ("test", test_folder)):
            d = root / cls / split
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                np.save(d / f"{cls}_{split}_{i:03d}.npy", make(400, rng))
    np.save(root / "box" / "train" / "box_bad.npy", np.full((10, 3), np.nan, np.float32))
    return root


def test_point_cloud_folders_as_udf_with_splits_carved_from_train(tmp_path):
    root = _cloud_tree(tmp_path / "clouds")
    p = DatasetParams(source="pointclouds", field="udf", root=str(root), n_per_class=0, carve_from="train",
                      split=SplitParams(0.2, 0.3), n_queries=1024, n_offgrid=256, n_surface=400, clip=0.1)
    meta = prepare_dataset(p, tmp_path / "out")
    index = pd.read_csv(tmp_path / "out" / "index.csv")
    rejected = pd.read_csv(tmp_path / "out" / "rejected.csv")
    assert meta["kind"] == "udf" and meta["classes"] == ["ball", "box"]
    assert len(index) == 20 and not index["id"].str.contains("/test/").any()      # the test folder is never read
    assert len(rejected) == 1 and "box_bad" in rejected["id"][0] and "NaN" in rejected["reason"][0]
    counts = index.groupby(["class_name", "split"]).size().unstack()               # stratified, per class
    assert (counts["test"] == 3).all() and (counts["val"] == 2).all() and (counts["train"] == 5).all()
    data = PreparedData(tmp_path / "out")
    q, v = data.tensor("coords"), data.tensor("values")
    assert q.shape == (20, 1024, 3) and v.shape == (20, 1024) and data.tensor("surface").shape == (20, 400, 3)
    assert float(v.min()) >= 0 and float(v.max()) <= 0.1 + 1e-6                    # clipped distances
    surf = data.tensor("surface")                                                   # the whole (normalised) cloud
    d = (q[:2, :, None] - surf[:2, None]).norm(dim=-1).min(-1).values.clamp(max=0.1)  # UDF = clipped distance to it
    assert torch.allclose(v[:2], d, atol=1e-5)
    assert (v < 0.01).float().mean() > 0.2                                          # queries hug the surface
    again = prepare_dataset(p, tmp_path / "again")                                  # deterministic
    assert again == meta and (tmp_path / "again" / "fields.safetensors").read_bytes() == \
        (tmp_path / "out" / "fields.safetensors").read_bytes()


def test_class_subset_and_carve_errors(tmp_path):
    root = _cloud_tree(tmp_path / "clouds", per_class=4, test_folder=1)
    base = dict(source="pointclouds", field="udf", root=str(root), n_per_class=0, n_queries=256, n_offgrid=64,
                n_surface=100)
    meta = prepare_dataset(DatasetParams(**base, classes=["ball"], carve_from="train"), tmp_path / "one")
    assert meta["classes"] == ["ball"] and meta["count"] == 4
    with pytest.raises(ConfigError, match=r"\['chair'\] not found"):
        prepare_dataset(DatasetParams(**base, classes=["ball", "chair"]), tmp_path / "x")
    with pytest.raises(BadInputError, match="no item in a 'val' split folder"):
        prepare_dataset(DatasetParams(**base, carve_from="val"), tmp_path / "y")
    with pytest.raises(ConfigError, match="carve_from"):
        DatasetParams(**base, carve_from="training")
    with pytest.raises(ConfigError, match="'udf' only"):
        DatasetParams(**{**base, "field": "sdf"})
    kept = prepare_dataset(DatasetParams(**base), tmp_path / "folders")             # no carve: folder splits kept
    assert set(pd.read_csv(tmp_path / "folders" / "index.csv")["split"]) == {"train", "test"} and kept["count"] == 10


def test_real_modelnet40_clouds_as_udf(shared_data, tmp_path):
    root = shared_data / "modelnet40-pc1024"
    if not root.is_dir():
        pytest.skip(f"{root} not found")
    p = DatasetParams(source="pointclouds", field="udf", root=str(root), classes=["bathtub", "cone"], n_per_class=10,
                      carve_from="train", split=SplitParams(0.1, 0.2), n_queries=1024, n_offgrid=256, n_surface=1024)
    meta = prepare_dataset(p, tmp_path)
    data = PreparedData(tmp_path)
    assert meta["count"] == 20 and meta["classes"] == ["bathtub", "cone"] and meta["rejected"] == 0
    assert meta["splits"] == {"train": 14, "test": 4, "val": 2}
    surf = data.tensor("surface")
    assert surf.shape == (20, 1024, 3)                                  # the whole cloud, in the canonical frame
    assert abs(float(surf.abs().amax(dim=(1, 2)).max()) - 0.9) < 1e-5

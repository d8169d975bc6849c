import shutil

import pandas as pd
import pytest
import torch

from nf2vec_core.data.prepare import DatasetParams, SplitParams, assign_splits, prepare_dataset
from nf2vec_core.errors import ConfigError
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

"""Rendering a procedural subset into the Blender layout and the resumable NeRF store."""
from __future__ import annotations

import pandas as pd
import pytest
import torch

from nf2vec_core.data.prepare import DatasetParams
from nf2vec_core.data.procedural import generate_dataset
from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.nerf.arch import NerfArch
from nf2vec_core.nerf.dataset import (NerfDataParams, NerfDataset, fit_nerf_dataset, render_views_dataset,
                                      scene_batch, select_objects)
from nf2vec_core.nerf.fit import NerfFitConfig
from nf2vec_core.nerf.render_config import RenderConfig
from nf2vec_core.nerf.synthetic_views import ViewRenderConfig

SHAPES = DatasetParams(n_per_class=3, classes=["table", "mug"], max_yaw_deg=30.0)
VIEWS = ViewRenderConfig(n_views=4, n_val_views=1, height=16, width=16, mesh_resolution=24, supersample=1)
ARCH = NerfArch(num_freqs=4, hidden=16)
FIT = NerfFitConfig(steps=5, rays_per_step=32, chunk_size=4, render=RenderConfig(samples_per_ray=8))


def prepared_index() -> pd.DataFrame:
    shapes = generate_dataset(3, 0, SHAPES.classes, 30.0)
    return pd.DataFrame({"id": [f"{s.class_name}_{i:04d}" for i, s in enumerate(shapes)],
                         "class_name": [s.class_name for s in shapes], "split": ["train", "val", "test"] * 2})


@pytest.fixture(scope="module")
def views_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("views")
    render_views_dataset(SHAPES, prepared_index(), NerfDataParams(n_per_class=2, views=VIEWS), out, progress=False)
    return out


def test_select_objects_takes_first_per_class():
    idx = prepared_index()
    assert select_objects(idx, 2)["id"].tolist() == ["table_0000", "table_0001", "mug_0003", "mug_0004"]
    with pytest.raises(ConfigError, match="n_per_class"):
        select_objects(idx, 0)


def test_select_objects_adds_test_objects_per_class():
    idx = pd.DataFrame({"id": [f"o{i}" for i in range(12)], "class_name": ["a"] * 6 + ["b"] * 6,
                        "split": ["train", "test", "val", "test", "test", "train"] * 2})
    assert select_objects(idx, 2, 0).equals(select_objects(idx, 2))
    assert select_objects(idx, 2, 2)["id"].tolist() == ["o0", "o1", "o3", "o6", "o7", "o9"]
    assert select_objects(idx, 1, 3)["id"].tolist() == ["o0", "o1", "o3", "o4", "o6", "o7", "o9", "o10"]
    with pytest.raises(ConfigError, match="n_test_per_class': class 'a' has only 3 test objects, asked for 4"):
        select_objects(idx, 2, 4)


def test_render_views_layout_and_splits(views_dir):
    index = pd.read_csv(views_dir / "index.csv")
    assert index["id"].tolist() == ["table_0000", "table_0001", "mug_0003", "mug_0004"]
    assert index["split"].tolist() == ["train", "val", "train", "val"]
    assert (views_dir / "table_0000" / "transforms_train.json").is_file()
    sb = scene_batch(views_dir, ["table_0000", "mug_0003"])
    assert sb.premult.shape == (2, 4, 16, 16, 3) and float(sb.alpha.max()) > 0.5


def test_render_views_with_more_test_objects_and_object_palette(tmp_path):
    views = ViewRenderConfig(n_views=2, n_val_views=0, height=12, width=12, mesh_resolution=16, supersample=1,
                             palette="object")
    index = render_views_dataset(SHAPES, prepared_index(), NerfDataParams(n_per_class=1, n_test_per_class=1,
                                                                          views=views), tmp_path, progress=False)
    assert index["id"].tolist() == ["table_0000", "table_0002", "mug_0003", "mug_0005"]
    assert index["split"].tolist() == ["train", "test", "train", "test"]
    rgb = [scene_batch(tmp_path, [i]).premult for i in ("table_0000", "table_0002")]
    assert not torch.allclose(rgb[0], rgb[1])


def test_render_views_rejects_unknown_ids(tmp_path):
    idx = prepared_index().assign(id=lambda d: d["id"] + "x")
    with pytest.raises(BadInputError, match="not shapes"):
        render_views_dataset(SHAPES, idx, NerfDataParams(n_per_class=1, views=VIEWS), tmp_path, progress=False)


def test_fit_store_resume_and_reader(views_dir, tmp_path):
    out = tmp_path / "nerf"
    s1 = fit_nerf_dataset(views_dir, out, ARCH, FIT, shard_size=2, progress=False)
    assert s1["count"] == 4 and s1["fitted_now"] == 4 and s1["mean_psnr"] > 0
    ds = NerfDataset(out)
    theta = ds.params()
    assert theta.shape == (4, ARCH.num_params) and ds.arch == ARCH
    assert ds.split_rows("val") == [1, 3] and ds.labels.tolist() == [1, 1, 0, 0]   # classes sorted: mug, table
    # a rerun keeps the completed shards (resume after a kill)
    before = {f: (out / f).read_bytes() for f in ("fit.json", "index.csv", "init.safetensors")}
    (out / "index.csv").unlink()
    (out / "shards" / "shard_00001.safetensors").unlink()
    s2 = fit_nerf_dataset(views_dir, out, ARCH, FIT, shard_size=2, progress=False)
    assert s2["fitted_now"] == 2 and "seconds" in s2
    assert torch.equal(NerfDataset(out).params(), theta)          # deterministic per NeRF
    # no timing or resume count in the store: a resumed fit writes the same bytes
    assert {f: (out / f).read_bytes() for f in before} == before
    # a store written for another architecture is refused with the file named
    (out / "arch.json").write_text(NerfArch(num_freqs=4, hidden=8).to_json())
    with pytest.raises(BadInputError, match="wrong architecture"):
        NerfDataset(out).params()

"""fit_dataset over a pool of workers, on a subset of items, and fit_views (other fits of an item)."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from nf2vec_core.data.prepare import DatasetParams, SplitParams, prepare_dataset
from nf2vec_core.errors import ConfigError
from nf2vec_core.fitting.run import FitParams, NFParams, ViewParams, fit_dataset, fit_views
from nf2vec_core.store.prepared import PreparedData
from nf2vec_core.store.neural_dataset import NeuralDataset, load_views, view_params

NF = NFParams(family="siren", hidden=16, depth=2, w0=10.0)
FIT = FitParams(steps=20, lr=5e-3, points_per_step=256, chunk_size=2, shard_size=4, workers=1)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    out = tmp_path_factory.mktemp("prep")
    prepare_dataset(DatasetParams(source="procedural", field="occupancy", n_per_class=3, classes=["table", "chair"],
                                  resolution=16, n_offgrid=256, n_surface=128, split=SplitParams(0.2, 0.2),
                                  workers=1), out)
    return out


def test_subset_reads_the_chosen_items(prepared):
    data = PreparedData(prepared)
    sub = data.subset([4, 1, 5])
    assert sub.index["id"].tolist() == data.index["id"].iloc[[4, 1, 5]].tolist()
    assert torch.equal(sub.tensor("voxels", 1, 3), data.tensor("voxels")[[1, 5]])
    assert torch.equal(sub.subset([2]).tensor("voxels"), data.tensor("voxels")[[5]])
    assert sub.split_rows(["train", "val", "test"]) == [0, 1, 2]


def test_workers_give_the_same_nfs_and_a_subset_keeps_its_seeds(prepared, tmp_path):
    fit_dataset(prepared, tmp_path / "one", NF, FIT)
    fit_dataset(prepared, tmp_path / "two", NF, replace(FIT, workers=2))
    one, two = NeuralDataset(tmp_path / "one"), NeuralDataset(tmp_path / "two")
    assert torch.equal(one.params(), two.params())
    assert one.index["id"].tolist() == two.index["id"].tolist() and "view" not in one.index
    # the chunk seed follows the item's row: the first two items alone are fitted identically
    fit_dataset(prepared, tmp_path / "head", NF, FIT, rows=[0, 1])
    assert torch.equal(NeuralDataset(tmp_path / "head").params(), one.params([0, 1]))


def test_views_are_other_fits_of_the_same_items(prepared, tmp_path):
    fit_dataset(prepared, tmp_path / "main", NF, FIT)
    main = NeuralDataset(tmp_path / "main")
    summary = fit_views(prepared, tmp_path / "views", NF, FIT, ViewParams(count=3, splits=("train", "val")))
    assert set(summary) == {"view1", "view2"}
    views = load_views(tmp_path / "views")
    want = main.index[main.index["split"].isin(["train", "val"])]["id"].tolist()
    for v, ds in enumerate(views, start=1):
        assert ds.index["id"].tolist() == want and set(ds.index["view"]) == {v}
        assert ds.fit_info["view"] == v and ds.index["iou_offgrid"].notna().all() and "iou" not in ds.index   # off-grid only
    got = view_params(views, want)
    mine = main.params([main.index["id"].tolist().index(i) for i in want])
    assert got.shape == (2, len(want), main.spec.num_params)
    assert not torch.equal(got[0], mine) and not torch.equal(got[0], got[1])    # other point samples
    assert fit_views(prepared, tmp_path / "none", NF, FIT, ViewParams(count=1)) == {}
    with pytest.raises(ConfigError, match="views.count"):
        ViewParams(count=0)
    with pytest.raises(ConfigError, match="views.splits"):
        ViewParams(splits=("training",))


def test_off_grid_quality_alone_matches_the_full_measure(prepared, tmp_path):
    from nf2vec_core.fitting.quality import quality

    digits = tmp_path / "digits"
    prepare_dataset(DatasetParams(source="digits", field="pixels", n_per_class=1, classes=None, workers=1), digits)
    for root, key in ((prepared, "iou_offgrid"), (digits, "psnr_offgrid")):
        fit_dataset(root, tmp_path / f"nf_{key}", NF, FIT, rows=[0, 1, 2])
        nd = NeuralDataset(tmp_path / f"nf_{key}")
        data = PreparedData(root)
        full = quality(nd.spec, nd.params(), data, 0, 3)
        off = quality(nd.spec, nd.params(), data, 0, 3, on_grid=False)
        assert set(off) == {key} and torch.equal(off[key], full[key]) and off[key].shape == (3,)


def test_parse_part_reads_i_of_k_and_refuses_the_rest():
    from nf2vec_core.errors import ConfigError
    from nf2vec_core.fitting.run import parse_part
    assert parse_part("0/1") == (0, 1) and parse_part("2/3") == (2, 3)
    for bad in ("3/3", "-1/2", "a/b", "1", "1/0"):
        with pytest.raises(ConfigError, match="--part"):
            parse_part(bad)

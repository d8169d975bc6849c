"""Datasets of one set of objects in several NeRF architectures (nerf/multiarch.py)."""
from __future__ import annotations

import pytest
import torch

from nf2vec_core.config import from_dict
from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.nerf.arch import NerfArch
from nf2vec_core.nerf.dataset import NerfDataParams, render_views_dataset
from nf2vec_core.nerf.fit import NerfFitConfig
from nf2vec_core.nerf.multiarch import AnyNerfDataParams, fit_arch_datasets, load_multiarch
from nf2vec_core.nerf.render_config import RenderConfig
from nf2vec_core.nerf.synthetic_views import ViewRenderConfig

from test_dataset import SHAPES, prepared_index

VIEWS = ViewRenderConfig(n_views=3, n_val_views=1, height=12, width=12, mesh_resolution=20, supersample=1)
FIT = NerfFitConfig(steps=3, rays_per_step=16, chunk_size=8, render=RenderConfig(samples_per_ray=6))
DATA = AnyNerfDataParams(mlp=NerfArch(num_freqs=2, hidden=8), variants=("MLP-2L", "TRI-8C"),
                         triplane=NerfArch(kind="triplane", plane_res=4, plane_channels=4, hidden=8, num_freqs=1))


def test_the_variants_change_one_size_of_their_base():
    archs = DATA.archs()
    assert list(archs) == ["MLP", "TRI", "MLP-2L", "TRI-8C"]
    assert archs["MLP-2L"] == NerfArch(num_freqs=2, hidden=8, depth=2)
    assert archs["TRI-8C"].plane_channels == 8 and archs["TRI-8C"].plane_res == 4


def test_params_section_is_checked():
    p = from_dict(AnyNerfDataParams, {"mlp": {"hidden": 32}, "variants": ["TRI-16W"]}, "anynerf.data")
    assert p.mlp.hidden == 32 and p.archs()["TRI-16W"].plane_res == 16
    with pytest.raises(ConfigError, match="anynerf.data.variants"):
        from_dict(AnyNerfDataParams, {"variants": ["TRI-4C"]}, "anynerf.data")
    with pytest.raises(ConfigError, match="anynerf.data"):
        from_dict(AnyNerfDataParams, {"mlp": {"kind": "triplane"}}, "anynerf.data")


def test_every_architecture_holds_the_same_objects_and_splits(tmp_path):
    views = tmp_path / "views"
    render_views_dataset(SHAPES, prepared_index(), NerfDataParams(n_per_class=2, views=VIEWS), views, progress=False)
    out = tmp_path / "nerfs"
    summary = fit_arch_datasets(views, out, DATA, FIT, names=["MLP", "TRI", "TRI-8C"], shard_size=3, progress=False)
    assert set(summary) == {"MLP", "TRI", "TRI-8C"} and all(s["count"] == 4 for s in summary.values())
    both = load_multiarch(out, ["MLP", "TRI"], "train")
    assert list(both.index["split"]) == ["train"] * len(both.index) and len(both.index) == 2
    assert both.thetas["MLP"].shape == (2, DATA.mlp.num_params)
    assert both.thetas["TRI"].shape == (2, DATA.triplane.num_params)
    assert both.archs["TRI"] == DATA.triplane and both.labels.tolist() == both.index["class_id"].tolist()
    assert not torch.equal(both.thetas["MLP"][0], both.thetas["MLP"][1])
    everything = load_multiarch(out, ["TRI-8C", "MLP"])
    assert len(everything.index) == 4 and everything.archs["TRI-8C"].plane_channels == 8
    with pytest.raises(ConfigError, match="unknown architecture"):
        fit_arch_datasets(views, out, DATA, FIT, names=["TRI-2L"], progress=False)
    idx = out / "TRI" / "index.csv"
    idx.write_text(idx.read_text().replace(",train,", ",val,", 1))
    with pytest.raises(BadInputError, match="differ"):
        load_multiarch(out, ["MLP", "TRI"])

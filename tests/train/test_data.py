"""Training pools of nf2vec (train/data.py): occupancy queries on the boundary voxels, with or
without the prepared off-grid points, and the encoder params that choose them."""
from __future__ import annotations

import pytest
import torch

from nf2vec_core.config import load_section
from nf2vec_core.data.prepare import DatasetParams, SplitParams, prepare_dataset
from nf2vec_core.errors import ConfigError
from nf2vec_core.fitting.run import FitParams, NFParams, fit_dataset
from nf2vec_core.fitting.targets import boundary_voxels, voxel_grid_centers
from nf2vec_core.store.neural_dataset import NeuralDataset
from nf2vec_core.store.prepared import PreparedData
from nf2vec_core.train.data import field_dataset
from nf2vec_core.train.params import EncoderParams


@pytest.fixture(scope="module")
def occupancy_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("occ")
    prepare_dataset(DatasetParams(source="procedural", field="occupancy", n_per_class=3, classes=["table", "mug"],
                                  resolution=16, n_offgrid=256, n_surface=128, split=SplitParams(0.2, 0.2),
                                  workers=1), root / "prep")
    fit_dataset(root / "prep", root / "nf", NFParams(family="siren", hidden=8, depth=2),
                FitParams(steps=2, points_per_step=64, chunk_size=2, shard_size=8, workers=1))
    return PreparedData(root / "prep"), NeuralDataset(root / "nf")


def _voxel_index(coords: torch.Tensor, r: int) -> torch.Tensor:
    return ((coords + 1) / 2 * r - 0.5).round().long()


def test_a_boundary_pool_holds_boundary_voxel_centres_with_their_labels(occupancy_data) -> None:
    prepared, neural = occupancy_data
    rows = neural.split_rows("train")
    vox = prepared.tensor("voxels")[rows]
    pool = field_dataset(prepared, neural, rows, n_grid=300, surface_fraction=1.0, offgrid=False)
    assert pool.values.shape == (len(rows), 300, 1)
    idx = _voxel_index(pool.coords, 16)
    centres = voxel_grid_centers(16).reshape(16, 16, 16, 3)
    assert torch.allclose(centres[idx[..., 0], idx[..., 1], idx[..., 2]], pool.coords)
    items = torch.arange(len(rows))[:, None]
    assert boundary_voxels(vox)[items, idx[..., 0], idx[..., 1], idx[..., 2]].all()
    assert torch.equal(pool.values[..., 0], vox[items, idx[..., 0], idx[..., 1], idx[..., 2]].float())
    assert boundary_voxels(vox).reshape(len(rows), -1).float().mean() < 0.5   # so the bias is a real choice


def test_the_surface_fraction_sets_the_share_of_boundary_points(occupancy_data) -> None:
    prepared, neural = occupancy_data
    rows = neural.split_rows("train")
    bound = boundary_voxels(prepared.tensor("voxels")[rows])
    items = torch.arange(len(rows))[:, None]

    def share(fraction: float) -> float:
        pool = field_dataset(prepared, neural, rows, n_grid=2000, surface_fraction=fraction, offgrid=False)
        idx = _voxel_index(pool.coords, 16)
        return float(bound[items, idx[..., 0], idx[..., 1], idx[..., 2]].float().mean())

    uniform = float(bound.float().mean())
    assert share(0.0) == pytest.approx(uniform, abs=0.05)
    assert share(0.5) == pytest.approx(0.5 + 0.5 * uniform, abs=0.05)


def test_the_offgrid_points_come_first_when_kept(occupancy_data) -> None:
    prepared, neural = occupancy_data
    rows = neural.split_rows("train")
    default = field_dataset(prepared, neural, rows, n_grid=300)
    assert default.num_points == 256 + 300
    assert torch.equal(default.coords[:, :256], prepared.tensor("offgrid_coords")[rows])
    assert field_dataset(prepared, neural, rows, n_grid=300, offgrid=False).num_points == 300


def test_encoder_params_check_the_pool_settings() -> None:
    p = load_section({"encoder": {"surface_fraction": 0.8, "offgrid": False}}, "encoder", EncoderParams)
    assert (p.surface_fraction, p.offgrid) == (0.8, False)
    with pytest.raises(ConfigError, match="encoder.surface_fraction"):
        load_section({"encoder": {"surface_fraction": 1.5}}, "encoder", EncoderParams)

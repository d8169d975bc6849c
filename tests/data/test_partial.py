"""Partial shapes for completion (data.partial): crops, one-sided views, their fields, the directory."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nf2vec_core.data.partial import (Cuts, PartialParams, crop_offsets, draw_cuts, half_space_mask, partial_fields,
                                      resample_kept, visible_mask, write_partial_dataset)
from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.fields.voxels import voxel_centers


def _sphere(n: int, radius: float = 0.8, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return radius * torch.nn.functional.normalize(torch.randn(n, 3, generator=g), dim=1)


def test_the_crop_keeps_exactly_the_points_on_one_side_and_the_asked_share():
    surface = torch.stack([_sphere(1000, seed=s) for s in range(6)])
    p = PartialParams(mode="crop", remove_low=0.2, remove_high=0.5)
    cuts = draw_cuts(surface, p, torch.Generator().manual_seed(3))
    keep = half_space_mask(surface, cuts)
    proj = torch.einsum("nsk,nk->ns", surface, cuts.directions)
    for i in range(6):
        assert proj[i][keep[i]].max() <= cuts.offsets[i] < proj[i][~keep[i]].min()
    assert torch.allclose(cuts.directions.norm(dim=1), torch.ones(6))
    removed = 1 - keep.float().mean(1)
    assert torch.all((removed >= 0.2 - 1e-3) & (removed <= 0.5 + 1e-3))
    exact = crop_offsets(surface, cuts.directions, torch.tensor([0.25] * 6))
    assert half_space_mask(surface, Cuts(cuts.directions, exact)).sum(1).tolist() == [750] * 6
    again = draw_cuts(surface, p, torch.Generator().manual_seed(3))
    assert torch.equal(again.directions, cuts.directions) and torch.equal(again.offsets, cuts.offsets)


def test_a_view_from_plus_z_keeps_the_top_of_a_sphere():
    pts = _sphere(4000)[None]
    seen = visible_mask(pts, torch.tensor([[0.0, 0.0, 1.0]]), distance=3.0)[0]
    z = pts[0, :, 2]
    # a camera at distance 3 sees the cap z > 0.8^2 / 3 = 0.21 of a ball of radius 0.8
    assert bool(seen[z > 0.25].all())
    assert not bool(seen[z < 0.1].any())
    below = visible_mask(pts, torch.tensor([[0.0, 0.0, -1.0]]))[0]
    assert bool(below[z < -0.25].all()) and not bool(below[z > -0.1].any())


def test_resampling_takes_only_kept_points_each_once_while_there_are_enough():
    pts = torch.arange(10.0)[None, :, None].expand(2, 10, 3).contiguous()
    keep = torch.zeros(2, 10, dtype=torch.bool)
    keep[0, :6], keep[1, 7:] = True, True
    out = resample_kept(pts, keep, 6, torch.Generator().manual_seed(0))[..., 0]
    assert sorted(out[0].tolist()) == [0, 1, 2, 3, 4, 5]
    assert sorted(out[1].tolist()) == [7, 7, 8, 8, 9, 9]            # 3 kept: each twice
    with pytest.raises(BadInputError, match="keeps no surface sample"):
        resample_kept(pts, torch.zeros(2, 10, dtype=torch.bool), 4, torch.Generator())


def _sphere_fields(kind: str, n: int = 2, r: int = 16) -> dict[str, torch.Tensor]:
    surface = torch.stack([_sphere(600, seed=s) for s in range(n)])
    out = {"surface": surface, "surface_labels": torch.zeros(n, 600, dtype=torch.long)}
    g = torch.Generator().manual_seed(1)
    off = torch.rand(n, 500, 3, generator=g) * 2 - 1
    if kind == "occupancy":
        c = torch.from_numpy(voxel_centers(r))
        out["voxels"] = (c.norm(dim=1) < 0.8).reshape(1, r, r, r).expand(n, -1, -1, -1).to(torch.uint8)
        out.update(offgrid_coords=off, offgrid_values=(off.norm(dim=-1) < 0.8).to(torch.uint8))
    else:
        q = torch.rand(n, 800, 3, generator=g) * 2 - 1
        sdf = lambda x: x.norm(dim=-1) - 0.8  # noqa: E731
        val = sdf(q) if kind == "sdf" else sdf(q).abs().clamp(max=0.1)
        oval = sdf(off) if kind == "sdf" else sdf(off).abs().clamp(max=0.1)
        out.update(coords=q, values=val, offgrid_coords=off, offgrid_values=oval)
    return out


def test_occupancy_of_a_crop_is_the_solid_on_the_kept_side():
    f = _sphere_fields("occupancy")
    p = PartialParams(mode="crop", remove_low=0.5, remove_high=0.5)
    out, cuts = partial_fields(f, "occupancy", 0.1, p, torch.Generator().manual_seed(0))
    c = torch.from_numpy(voxel_centers(16))
    for i in range(2):
        side = c @ cuts.directions[i] <= cuts.offsets[i]
        want = f["voxels"][i].reshape(-1).bool() & side
        assert torch.equal(out["voxels"][i].reshape(-1).bool(), want)
        assert 0.3 < want.sum() / f["voxels"][i].sum() < 0.7                      # about half the ball
        oside = f["offgrid_coords"][i] @ cuts.directions[i] <= cuts.offsets[i]
        assert torch.equal(out["offgrid_values"][i].bool(), f["offgrid_values"][i].bool() & oside)
    assert out["voxels"].dtype == torch.uint8 and out["surface"].shape == f["surface"].shape
    kept = half_space_mask(out["surface"], cuts)
    assert bool(kept.all())                                                        # partial surface: kept side only


def test_occupancy_of_a_view_is_the_slab_behind_the_visible_surface():
    f = _sphere_fields("occupancy", n=1, r=24)
    p = PartialParams(mode="view", thickness=0.15)
    out, cuts = partial_fields(f, "occupancy", 0.1, p, torch.Generator().manual_seed(0))
    d = cuts.directions[0]
    c = torch.from_numpy(voxel_centers(24))
    kept = out["voxels"][0].reshape(-1).bool()
    assert bool((f["voxels"][0].reshape(-1).bool() | ~kept).all())                 # a part of the solid
    assert float((c[kept] @ d).min()) > -0.25                                      # nothing of the far half
    assert bool(((c @ d > 0.75) & (c.norm(dim=1) < 0.8)).sum() > 0)
    assert bool(kept[(c @ d > 0.75) & (c.norm(dim=1) < 0.8)].all())                # the seen cap's skin
    assert not bool(kept[c.norm(dim=1) < 0.5].any())                               # not the core
    assert float((out["surface"][0] @ d).min()) > 0.0


def test_udf_and_sdf_partials():
    f = _sphere_fields("udf")
    p = PartialParams(mode="crop", remove_low=0.4, remove_high=0.4)
    out, cuts = partial_fields(f, "udf", 0.1, p, torch.Generator().manual_seed(0))
    assert out["coords"].shape == f["coords"].shape and out["offgrid_coords"].shape == f["offgrid_coords"].shape
    for i in range(2):
        d = torch.cdist(out["coords"][i].double(), out["surface"][i].double()).min(1).values.clamp(max=0.1)
        assert torch.allclose(out["values"][i].double(), d, atol=1e-5)            # UDF of the partial surface
    s = _sphere_fields("sdf")
    out, cuts = partial_fields(s, "sdf", 0.1, p, torch.Generator().manual_seed(0))
    plane = torch.einsum("nmk,nk->nm", s["coords"], cuts.directions) - cuts.offsets[:, None]
    assert torch.allclose(out["values"], torch.maximum(s["values"], plane))        # ball cut by the half-space
    assert torch.equal(out["coords"], s["coords"])


def test_params_and_kinds_are_checked():
    with pytest.raises(ConfigError, match="pixels"):
        partial_fields(_sphere_fields("udf"), "pixels", 0.1, PartialParams(), torch.Generator())
    with pytest.raises(ConfigError, match="remove_low"):
        PartialParams(remove_low=0.6, remove_high=0.5)
    with pytest.raises(ConfigError, match="mode"):
        PartialParams(mode="slice")
    with pytest.raises(ConfigError, match="view_distance"):
        PartialParams(view_distance=1.0)
    with pytest.raises(ConfigError, match="thickness"):
        PartialParams(thickness=0.0)


def test_a_partial_directory_of_prepared_procedural_shapes_fits_like_the_dataset(tmp_path):
    from nf2vec_core.data.prepare import DatasetParams, prepare_dataset
    from nf2vec_core.fitting.engine import FitConfig, fit_chunk
    from nf2vec_core.fitting.run import NFParams
    from nf2vec_core.fitting.targets import fit_targets
    from nf2vec_core.nf.init import init_batch
    from nf2vec_core.store.prepared import PreparedData

    dp = DatasetParams(source="procedural", field="occupancy", n_per_class=1, classes=["table", "mug"], resolution=16,
                       n_offgrid=256, n_surface=512, workers=1)
    prepare_dataset(dp, tmp_path / "full")
    p = PartialParams(mode="view", batch=1)
    meta = write_partial_dataset(tmp_path / "full", tmp_path / "part", p, progress=False)
    full, part = PreparedData(tmp_path / "full"), PreparedData(tmp_path / "part")
    assert meta["partial"]["mode"] == "view" and part.kind == "occupancy"
    assert part.index.equals(full.index)
    fv, pv = full.tensor("voxels").bool(), part.tensor("voxels").bool()
    assert bool((fv | ~pv).all()) and 0 < int(pv.sum()) < int(fv.sum())         # a non-empty part of each solid
    again = tmp_path / "again"
    write_partial_dataset(tmp_path / "full", again, p, progress=False)
    assert (again / "fields.safetensors").read_bytes() == (tmp_path / "part" / "fields.safetensors").read_bytes()
    spec = NFParams(hidden=8, depth=2).spec(3, 1)
    t = fit_targets(part, 0, 2)
    cfg = FitConfig(steps=3, loss="bce", backend="autograd")
    theta, loss = fit_chunk(spec, init_batch(spec, 2, mode="shared", seed=0), t, cfg)
    assert theta.shape == (2, spec.num_params) and torch.isfinite(loss).all()
    assert np.isfinite(part.tensor("surface").numpy()).all()

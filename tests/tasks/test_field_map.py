"""Field-kind mapping (tasks/field_map.py): items paired by id across two datasets, and a known
answer: spheres whose UDF embeddings encode the radius one way and whose SDF embeddings encode it
another way map to closed meshes of the right spheres."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from nf2vec_core.config import load_section
from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.store.io import write_csv, write_tensors
from nf2vec_core.store.prepared import PreparedData
from nf2vec_core.tasks.field_map import (FieldMapPair, FieldMapParams, decode_meshes, map_fields, pair_items,
                                         watertight)
from nf2vec_core.tasks.transfer import TransferParams

N, SURFACE = 40, 512
SPLITS = ["train"] * 24 + ["val"] * 8 + ["test"] * 8


class SphereSDF(nn.Module):
    """Decoder of spheres: the signed distance to the sphere of radius ``emb[:, 0]``."""

    def forward(self, emb: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return (x.norm(dim=-1) - emb[:, :1]).unsqueeze(-1)


class SphereUDF(nn.Module):
    """Decoder of sphere surfaces as UDFs (raw logits of ``udf / clip``) of radius ``(emb[:, 1] - 1) / 2``."""

    def forward(self, emb: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        d = (x.norm(dim=-1) - (emb[:, 1:2] - 1) / 2).abs().clamp(1e-6, 0.1 * (1 - 1e-6)) / 0.1
        return torch.logit(d).unsqueeze(-1)


def _sphere_points(r: float, n: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, 3))
    return (r * v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def _prepared(root: Path, kind: str, radii: np.ndarray, order: list[int]) -> PreparedData:
    index = pd.DataFrame({"id": [f"ball_{i:03d}" for i in order], "source": "test", "class_name": "ball",
                          "class_id": 0, "split": [SPLITS[i] for i in order]})
    root.mkdir(parents=True)
    (root / "meta.json").write_text(json.dumps({"kind": kind, "clip": 0.1, "classes": ["ball"]}))
    write_csv(root / "index.csv", index)
    write_tensors(root / "fields.safetensors",
                  {"surface": torch.as_tensor(np.stack([_sphere_points(radii[i], SURFACE, i) for i in order]))})
    return PreparedData(root)


@pytest.fixture(scope="module")
def spheres(tmp_path_factory):
    root = tmp_path_factory.mktemp("spheres")
    radii = np.linspace(0.3, 0.8, N)[np.random.default_rng(0).permutation(N)]
    src_order = list(range(N))[::-1]                              # the source lists the items the other way
    tgt_order = list(range(N))
    src = _prepared(root / "udf", "udf", radii, src_order)
    tgt = _prepared(root / "sdf", "sdf", radii, tgt_order)
    r_src, r_tgt = torch.as_tensor(radii[src_order]).float(), torch.as_tensor(radii[tgt_order]).float()
    src_emb = torch.stack([torch.zeros(N), 2 * r_src + 1, r_src ** 2], 1)     # radius in coordinate 1, scaled
    tgt_emb = torch.stack([r_tgt, torch.zeros(N)], 1)                         # radius in coordinate 0
    return (SphereUDF(), src_emb, src), (SphereSDF(), tgt_emb, tgt), radii


P = FieldMapParams(transfer=TransferParams(hidden=(64,), epochs=400, lr=1e-2, weight_decay=0.0, seed=0),
                   n_points=512, resolution=32, n_figure=2)


def test_items_pair_by_id_in_the_targets_order(spheres) -> None:
    (_, _, src), (_, _, tgt), _ = spheres
    pairs = pair_items(src.index, tgt.index)
    assert [len(pairs[s][0]) for s in ("train", "val", "test")] == [24, 8, 8]
    for s, (s_rows, t_rows) in pairs.items():
        assert src.index["id"].iloc[s_rows].tolist() == tgt.index["id"].iloc[t_rows].tolist()
        assert t_rows == sorted(t_rows)


def test_an_item_in_two_splits_or_a_split_without_items_is_refused(spheres) -> None:
    (_, _, src), (_, _, tgt), _ = spheres
    moved = src.index.copy()
    moved.loc[moved["id"] == "ball_000", "split"] = "val" if SPLITS[0] != "val" else "train"
    with pytest.raises(BadInputError, match="ball_000"):
        pair_items(moved, tgt.index)
    with pytest.raises(BadInputError, match="no test item"):
        pair_items(src.index[src.index["split"] != "test"], tgt.index)
    with pytest.raises(ConfigError, match="both"):
        load_section({"pipeline": {"field_maps": {"x": {"source": "a", "target": "a"}}}},
                     "pipeline.field_maps.x", FieldMapPair)


def test_sphere_udfs_map_to_closed_meshes_of_their_spheres(spheres) -> None:
    source, target, radii = spheres
    res = map_fields(source, target, P, progress=False)
    s = res.summary
    assert (s["source_kind"], s["target_kind"], s["n_train"], s["n_val"], s["n_test"]) == ("udf", "sdf", 24, 8, 8)
    assert s["watertight_share"] == 1.0 and s["empty_share"] == 0.0
    assert s["transfer"]["test_relative_l2"] < 0.01
    scores = s["scores"]
    assert set(scores) == {"nf2vec_mapping", "source_embedding", "nearest_train", "target_embedding"}
    # 512 samples of a sphere lie ~0.07 apart: two samplings of one sphere score ~0.006, a sphere 0.05
    # off in radius ~0.01 more; the analytic spheres decoded, and their mapped copies, score the floor
    assert scores["target_embedding"]["chamfer"] < 0.01
    assert scores["nf2vec_mapping"]["chamfer"] < 1.2 * scores["target_embedding"]["chamfer"]
    assert scores["source_embedding"]["chamfer"] < 0.01
    assert res.clouds["ground_truth"].shape == (8, SURFACE, 3)
    assert all(res.clouds[k].shape == (8, P.n_points, 3) for k in scores)
    test_ids = target[2].index["id"][target[2].index["split"] == "test"].tolist()
    assert res.names == ["ball"] * 8 and len(test_ids) == 8
    # the mapped meshes are the right spheres: mean vertex norm = the item's radius
    want = [radii[int(i.split("_")[1])] for i in test_ids]
    got = [float(np.linalg.norm(v, axis=1).mean()) for v, _ in res.meshes]
    assert np.allclose(got, want, atol=0.02)


def test_meshes_of_a_field_without_a_surface_are_empty_and_not_closed() -> None:
    far = torch.full((2, 2), 5.0)                                        # radius 5: outside the grid
    meshes = decode_meshes(SphereSDF(), far, "sdf", 0.1, 16)
    assert [len(f) for _, f in meshes] == [0, 0] and not any(watertight(m) for m in meshes)
    with pytest.raises(ConfigError, match="no inside"):
        decode_meshes(SphereSDF(), far, "udf", 0.1, 16)

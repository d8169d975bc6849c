"""Mapping between field kinds (Zama Ramirez et al., *Deep Learning on 3D Neural Fields*, §V, Fig. 18).

Two datasets hold the same shapes as two kinds of field, e.g. unsigned distances to a point cloud
(UDF) and signed distances to a mesh (SDF); each has its own nf2vec (encoder and decoder) and
embeddings. A transfer MLP (:mod:`.transfer`, MSE) learns on the training items to map the
source embedding of a shape to its target embedding; the target decoder turns the mapped
embedding of an unseen test item into a field of the target kind. For an SDF target this gives a
mesh by marching cubes from a point cloud's NF: closed wherever the surface stays inside the grid.

Scored on the test items against the target's ground-truth surface (Chamfer, F-score), beside

* ``source_embedding``: the source embedding decoded by the source decoder (a UDF gives a point
  cloud, not a mesh): how well the input's own nf2vec reconstructs it;
* ``nearest_train``: a retrieval baseline, the ground-truth surface of the training item whose
  source embedding is nearest (:func:`~.completion.nearest_partial`);
* ``target_embedding``: the decoded target embedding of the shape's own target NF (the ceiling a
  perfect transfer reaches through the target decoder).

For mesh-valued targets the share of closed (watertight) meshes is reported too. The transfer's
epoch is chosen on the validation items; so is the iso-level of an occupancy decoder, source or
target (:func:`~.reconstruction.decoder_level`). The two datasets are paired by item id; a shape must be
in the same split in both.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd
import torch
import trimesh
from tqdm import tqdm

from ..decoders.implicit import ImplicitDecoder
from ..decoders.reconstruct import decoder_field_fn, field_grid, occupancy_to_mesh, sdf_to_mesh
from ..errors import BadInputError, ConfigError
from ..store.prepared import PreparedData
from .completion import completion_report, nearest_partial
from .decoded import decode_clouds, subsample_clouds
from .reconstruction import ReconstructParams, decoder_level, mesh_points, natural_level
from .transfer import TransferParams, train_transfer

__all__ = ["FieldMapPair", "FieldMapParams", "FieldMap", "pair_items", "decode_meshes", "watertight", "map_fields"]

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class FieldMapPair:
    """An entry of ``pipeline.field_maps``: the dataset whose embeddings are mapped and the one
    they are mapped to (two datasets of the same items, of different field kinds)."""

    source: str
    target: str

    def __post_init__(self) -> None:
        if self.source == self.target:
            raise ConfigError(f"pipeline.field_maps: source and target are both {self.source!r}")


@dataclass(frozen=True)
class FieldMapParams:
    """A ``field_map`` section: the transfer MLP, decoding and scoring."""

    transfer: TransferParams = field(default_factory=TransferParams)
    n_points: int = 2048           # points of a decoded cloud
    resolution: int = 64           # marching-cubes grid of occupancy/SDF decodes
    fscore_threshold: float = 0.01
    n_figure: int = 4              # test items in the figure (spread over the split)
    level: Optional[float] = None  # target decoder iso-level; None: chosen on validation items (occupancy)
    n_calibration: int = 80        # validation items that choose it

    def __post_init__(self) -> None:
        if int(self.n_points) < 1 or int(self.resolution) < 2 or int(self.n_figure) < 1:
            raise ConfigError(f"field_map: need n_points >= 1, resolution >= 2, n_figure >= 1; got "
                              f"{self.n_points}, {self.resolution}, {self.n_figure}")
        if not float(self.fscore_threshold) > 0:
            raise ConfigError(f"field_map.fscore_threshold: must be > 0, got {self.fscore_threshold}")


def pair_items(source: pd.DataFrame, target: pd.DataFrame) -> dict[str, tuple[list[int], list[int]]]:
    """``{split: (source rows, target rows)}`` of the items (by ``id``) in both indexes, in the
    target's order. :class:`BadInputError` when a shared item sits in different splits, or when a
    split has no shared item."""
    where = {i: r for r, i in enumerate(source["id"].tolist())}
    pairs: dict[str, tuple[list[int], list[int]]] = {s: ([], []) for s in SPLITS}
    for t_row, (item, split) in enumerate(zip(target["id"].tolist(), target["split"].tolist())):
        s_row = where.get(item)
        if s_row is None:
            continue
        if source["split"].iloc[s_row] != split:
            raise BadInputError(None, f"item {item!r} is in split {source['split'].iloc[s_row]!r} of the source "
                                      f"dataset but {split!r} of the target (prepare both with the same split seed)")
        if split in pairs:
            pairs[split][0].append(s_row)
            pairs[split][1].append(t_row)
    empty = [s for s in SPLITS if not pairs[s][0]]
    if empty:
        raise BadInputError(None, f"the two datasets share no {', '.join(empty)} item (are they of the same shapes?)")
    return pairs


@torch.no_grad()
def decode_meshes(decoder: ImplicitDecoder, emb: torch.Tensor, kind: str, clip: float, resolution: int,
                  level: float | None = None, batch: int = 8, progress: bool = False,
                  desc: str = "decode meshes") -> list[tuple[np.ndarray, np.ndarray]]:
    """Marching-cubes meshes ``(verts, faces)`` of the decoded occupancy/SDF fields of ``emb [B, D]``
    at ``level`` (default: the natural level); empty arrays where no surface crosses the grid."""
    if kind not in ("occupancy", "sdf"):
        raise ConfigError(f"decode_meshes: a {kind} field has no inside, so no mesh (occupancy or sdf)")
    to_mesh = occupancy_to_mesh if kind == "occupancy" else sdf_to_mesh
    lv = natural_level(kind) if level is None else level
    decoder.eval()
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for a in tqdm(range(0, emb.shape[0], batch), desc=desc, unit="batch", disable=not progress):
        e = emb[a:a + batch]
        out += [to_mesh(g, lv) for g in field_grid(decoder_field_fn(decoder, e, kind, clip), e.shape[0], resolution)]
    return out


def watertight(mesh: tuple[np.ndarray, np.ndarray]) -> bool:
    """Whether a mesh is closed: every edge shared by exactly two consistently wound faces."""
    verts, faces = mesh
    return bool(len(faces)) and bool(trimesh.Trimesh(verts, faces, process=True).is_watertight)


@dataclass(frozen=True)
class FieldMap:
    """What :func:`map_fields` found: the ``summary`` (the stage's results), the test items'
    clouds by name (``ground_truth``, ``source_input`` and each scored set), the mapped meshes of
    mesh-valued targets (else None) and the test items' class names."""

    summary: dict
    clouds: dict[str, torch.Tensor]
    meshes: list[tuple[np.ndarray, np.ndarray]] | None
    names: list[str]


def map_fields(source: tuple[ImplicitDecoder, torch.Tensor, PreparedData],
               target: tuple[ImplicitDecoder, torch.Tensor, PreparedData],
               p: FieldMapParams, progress: bool = True) -> FieldMap:
    """Field-kind mapping (module docs). ``source`` / ``target``: each dataset's decoder, its
    embeddings ``[N, D]`` (one row per item of its prepared data, in that order) and its prepared
    data (kind, ground-truth surfaces, index)."""
    (src_dec, src_emb, src_data), (tgt_dec, tgt_emb, tgt_data) = source, target
    for emb, data in ((src_emb, src_data), (tgt_emb, tgt_data)):
        if emb.dim() != 2 or emb.shape[0] != len(data.index):
            raise BadInputError(data.root, f"need one embedding per item ({len(data.index)}), got {tuple(emb.shape)}")
    t0 = time.perf_counter()
    pairs = pair_items(src_data.index, tgt_data.index)
    s_sel = {s: torch.as_tensor(pairs[s][0]) for s in SPLITS}
    t_sel = {s: torch.as_tensor(pairs[s][1]) for s in SPLITS}
    net, hist = train_transfer(src_emb[s_sel["train"]], tgt_emb[t_sel["train"]], src_emb[s_sel["val"]],
                               tgt_emb[t_sel["val"]], p.transfer, progress=progress,
                               desc=f"transfer {src_data.kind} -> {tgt_data.kind} embeddings")
    with torch.no_grad():
        mapped = tgt_emb.clone()                       # target order; only the paired rows are used
        for s in SPLITS:
            mapped[t_sel[s]] = net(src_emb[s_sel[s]])
    s_kind, t_kind = src_data.kind, tgt_data.kind
    s_clip, t_clip = float(src_data.meta.get("clip", 0.1)), float(tgt_data.meta.get("clip", 0.1))
    rp = ReconstructParams(level=p.level, n_calibration=p.n_calibration)
    val_rows = pairs["val"][1]
    levels = {name: decoder_level(rp, tgt_dec, e, val_rows, tgt_data, t_kind, t_clip)[0]
              for name, e in (("nf2vec_mapping", mapped), ("target_embedding", tgt_emb))}
    levels["source_embedding"] = decoder_level(rp, src_dec, src_emb, pairs["val"][0], src_data, s_kind, s_clip)[0]
    test_t, test_s = t_sel["test"], s_sel["test"]
    meshes = None
    if t_kind in ("occupancy", "sdf"):
        meshes = decode_meshes(tgt_dec, mapped[test_t], t_kind, t_clip, p.resolution, levels["nf2vec_mapping"],
                               progress=progress, desc="decode mapped meshes")
        mapped_clouds = torch.as_tensor(np.stack([mesh_points(v, f, p.n_points, seed=i)
                                                  for i, (v, f) in enumerate(meshes)]))
    else:
        mapped_clouds = decode_clouds(tgt_dec, mapped[test_t], t_kind, t_clip, p.n_points, p.resolution,
                                      levels["nf2vec_mapping"], progress=progress, desc="decode mapped")
    surface = tgt_data.tensor("surface")
    nearest = nearest_partial(src_emb[test_s], src_emb[s_sel["train"]])
    clouds = {"nf2vec_mapping": mapped_clouds,
              "source_embedding": decode_clouds(src_dec, src_emb[test_s], s_kind, s_clip, p.n_points, p.resolution,
                                                levels["source_embedding"], progress=progress,
                                                desc="decode source embeddings"),
              "nearest_train": subsample_clouds(surface[t_sel["train"]][nearest], p.n_points),
              "target_embedding": decode_clouds(tgt_dec, tgt_emb[test_t], t_kind, t_clip, p.n_points, p.resolution,
                                                levels["target_embedding"], progress=progress,
                                                desc="decode target embeddings")}
    gt = surface[test_t]
    own, l2 = tgt_emb[test_t], (mapped[test_t] - tgt_emb[test_t]).pow(2).sum(-1)
    best = int(np.argmin(hist["val_loss"]))
    summary = {"source_kind": s_kind, "target_kind": t_kind,
               **{f"n_{s}": len(pairs[s][0]) for s in SPLITS},
               "transfer": {"best_epoch": best, "best_val_loss": float(hist["val_loss"][best]),
                            "test_l2": float(l2.mean()),
                            "test_relative_l2": float(l2.mean() / own.pow(2).sum(-1).mean())},
               "levels": levels,
               "scores": completion_report(gt, clouds, p.fscore_threshold),
               "seconds": round(time.perf_counter() - t0, 2)}
    if meshes is not None:
        summary["watertight_share"] = float(np.mean([watertight(m) for m in meshes]))
        summary["empty_share"] = float(np.mean([len(f) == 0 for _, f in meshes]))
    names = tgt_data.index["class_name"].to_numpy()[pairs["test"][1]].tolist()
    source_input = subsample_clouds(src_data.tensor("surface")[test_s], p.n_points)
    return FieldMap(summary, {"ground_truth": gt, "source_input": source_input, **clouds}, meshes, names)

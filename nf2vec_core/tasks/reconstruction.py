"""Reconstruction from embeddings vs from the input NFs (paper 000 §IV, Fig. 4), with metrics.

For ``occupancy``/``sdf`` fields: field values on an ``R^3`` grid (decoder or NF) -> marching
cubes -> points sampled on the mesh (Chamfer, F-score against the ground-truth surface samples),
and voxels at the prepared resolution (IoU against the ground-truth voxels / signs). For ``udf``:
point clouds projected onto the zero level set (Chamfer, F-score).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import trimesh

from ..decoders.reconstruct import (decoder_field_fn, field_grid, field_values, nf_field_fn, occupancy_to_mesh,
                                    point_cloud_from_udf, sdf_to_mesh)
from ..fitting.targets import voxel_grid_centers
from ..metrics.geometry import chamfer_distance, f_score, iou

FieldFn = object


@dataclass(frozen=True)
class ReconstructParams:
    """The ``reconstruct`` section.

    ``level``: the iso-level of the decoder's field (occupancy probability, or SDF value) for its
    meshes and voxels. ``None`` chooses it on validation items: the candidate of
    :func:`candidate_levels` with the highest mean IoU over ``n_calibration`` of them (as
    occupancy networks choose their threshold; :func:`decoder_level`). The input NFs always use the natural level
    (probability 0.5, SDF 0), the one they were fitted at.
    """

    n_examples: int = 16          # test items reconstructed and scored
    n_figure: int = 4             # of which shown in the figure
    resolution: int = 64          # marching-cubes grid (paper: 128)
    n_points: int = 4096          # points per reconstructed cloud (paper: 8192)
    fscore_threshold: float = 0.01
    interpolation_steps: int = 5
    level: Optional[float] = None
    n_calibration: int = 80       # validation items that choose the decoder's level


def natural_level(kind: str) -> float:
    """The level a field of this kind is fitted at: probability 0.5 (occupancy), 0 (SDF)."""
    return 0.5 if kind == "occupancy" else 0.0


def candidate_levels(kind: str, clip: float) -> list[float]:
    """Levels tried by :func:`calibrate_level`: probabilities 0.05..0.95 (occupancy), or
    ``clip`` x -0.5..0.5 (SDF, whose decoder predicts the distance clipped at ``clip``)."""
    steps = np.round(np.linspace(0.05, 0.95, 19), 2) if kind == "occupancy" else np.round(np.linspace(-0.5, 0.5, 11), 2) * clip
    return [float(v) for v in steps]


def level_ious(values: torch.Tensor, inside: torch.Tensor, kind: str, levels: list[float]) -> torch.Tensor:
    """IoU ``[L, B]`` of the field's inside test at each level (``values [B, M]`` at M points)
    against the ground truth ``inside [B, M]``."""
    inside = inside.reshape(values.shape).bool()
    return torch.stack([iou(values > lv if kind == "occupancy" else values < lv, inside) for lv in levels])


def voxel_ious(field_fn, gt_voxels: torch.Tensor, kind: str, levels: list[float]) -> torch.Tensor:
    """IoU ``[L, B]`` of the field's inside test at each level, at the voxel centres, vs the
    ground-truth voxels ``[B,R,R,R]`` (the field is evaluated once)."""
    r = gt_voxels.shape[-1]
    vals = field_grid(field_fn, gt_voxels.shape[0], r, centers=True).reshape(gt_voxels.shape[0], -1)
    return level_ious(vals, gt_voxels, kind, levels)


def calibrate_level(values: torch.Tensor, inside: torch.Tensor, kind: str, clip: float
                    ) -> tuple[float, dict[float, float]]:
    """The candidate level (:func:`candidate_levels`) with the highest mean IoU of ``values
    [B, M]`` against ``inside [B, M]`` on these (validation) items, and the mean IoU of each."""
    levels = candidate_levels(kind, clip)
    means = level_ious(values, inside, kind, levels).mean(1)
    return levels[int(means.argmax())], {lv: float(m) for lv, m in zip(levels, means)}


def spread(items: list, k: int) -> list:
    """``k`` items evenly spaced over ``items`` (all of them when ``k >= len(items)``): with a
    class-major split, examples from every class rather than the first class only."""
    if k >= len(items):
        return list(items)
    if k <= 0:
        return []
    return [items[int(i)] for i in np.round(np.linspace(0, len(items) - 1, k))]


def mesh_points(verts: np.ndarray, faces: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` points sampled uniformly on a mesh (zeros when the mesh is empty: a failed decode)."""
    if len(faces) == 0:
        return np.zeros((n, 3), dtype=np.float32)
    pts, _ = trimesh.sample.sample_surface(trimesh.Trimesh(verts, faces, process=False), n, seed=seed)
    return np.asarray(pts, dtype=np.float32)


def clouds_from_field(field_fn, batch: int, kind: str, p: ReconstructParams,
                      level: float | None = None) -> list[np.ndarray]:
    """One point cloud per shape of a batched field function (meshes at ``level``, by default the
    natural one)."""
    if kind == "udf":
        return list(point_cloud_from_udf(field_fn, batch, p.n_points, n_candidates=20 * p.n_points).numpy())
    grid = field_grid(field_fn, batch, p.resolution)
    to_mesh = occupancy_to_mesh if kind == "occupancy" else sdf_to_mesh
    lv = natural_level(kind) if level is None else level
    return [mesh_points(*to_mesh(g, lv), p.n_points, seed=i) for i, g in enumerate(grid)]


def voxel_iou(field_fn, gt_voxels: torch.Tensor, kind: str, level: float | None = None) -> torch.Tensor:
    """IoU ``[B]`` of the field's inside test at the voxel centres vs ground-truth voxels ``[B,R,R,R]``."""
    return voxel_ious(field_fn, gt_voxels, kind, [natural_level(kind) if level is None else level])[0]


def reconstruction_scores(field_fn, batch: int, kind: str, surface: torch.Tensor, p: ReconstructParams,
                          gt_voxels: torch.Tensor | None = None, level: float | None = None
                          ) -> tuple[dict[str, torch.Tensor], list[np.ndarray]]:
    """Per-shape Chamfer / F-score (and IoU when voxels are given) and the clouds themselves, at
    ``level`` (default: the natural level); with another level, also ``iou_natural``."""
    with torch.no_grad():
        clouds = clouds_from_field(field_fn, batch, kind, p, level)
    pts = torch.as_tensor(np.stack(clouds))
    scores = {"chamfer": chamfer_distance(pts, surface), "fscore": f_score(pts, surface, p.fscore_threshold)}
    if gt_voxels is not None and kind != "udf":
        levels = [natural_level(kind) if level is None else level]
        if level is not None and level != natural_level(kind):
            levels.append(natural_level(kind))
        with torch.no_grad():
            ious = voxel_ious(field_fn, gt_voxels, kind, levels)
        scores["iou"] = ious[0]
        if len(levels) > 1:
            scores["iou_natural"] = ious[1]
    return scores, clouds


def nf_and_decoder_fields(spec, theta, decoder, emb, kind: str, clip: float):
    return nf_field_fn(spec, theta, kind, clip), decoder_field_fn(decoder, emb, kind, clip)


def decoder_level(p: ReconstructParams, decoder, emb_all: torch.Tensor, val_rows: list[int], prepared, kind: str,
                  clip: float, n_points: int = 8192, seed: int = 0) -> tuple[float | None, dict[float, float]]:
    """The decoder's level: ``p.level`` when set; else, for occupancy, chosen on ``p.n_calibration``
    validation items spread over the split (:func:`spread`) by their voxel IoU, estimated on
    ``n_points`` voxel centres drawn per item (the reported IoU is on all R^3 centres; off the
    grid the decoder's IoU curve is another one); else ``None``, the natural level (SDF and UDF
    datasets store no voxels). Returns the level and the calibration curve (mean IoU by level)."""
    if p.level is not None:
        return float(p.level), {}
    if kind != "occupancy" or not val_rows or p.n_calibration < 1:
        return None, {}
    sel = torch.as_tensor(spread(val_rows, p.n_calibration))
    vox = prepared.tensor("voxels")[sel]
    flat = vox.reshape(len(sel), -1)
    idx = torch.randint(flat.shape[1], (len(sel), n_points), generator=torch.Generator().manual_seed(seed))
    values = field_values(decoder_field_fn(decoder, emb_all[sel], kind, clip), voxel_grid_centers(vox.shape[-1])[idx])
    return calibrate_level(values, torch.gather(flat, 1, idx).bool(), kind, clip)

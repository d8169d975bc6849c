"""Reconstruction from embeddings vs from the input NFs (paper 000 §IV, Fig. 4), with metrics.

For ``occupancy``/``sdf`` fields: field values on an ``R^3`` grid (decoder or NF) -> marching
cubes -> points sampled on the mesh (Chamfer, F-score against the ground-truth surface samples),
and voxels at the prepared resolution (IoU against the ground-truth voxels / signs). For ``udf``:
point clouds projected onto the zero level set (Chamfer, F-score).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import trimesh

from ..decoders.reconstruct import (decoder_field_fn, field_grid, nf_field_fn, occupancy_to_mesh,
                                    point_cloud_from_udf, sdf_to_mesh)
from ..metrics.geometry import chamfer_distance, f_score, iou

FieldFn = object


@dataclass(frozen=True)
class ReconstructParams:
    """The ``reconstruct`` section."""

    n_examples: int = 16          # test items reconstructed and scored
    n_figure: int = 4             # of which shown in the figure
    resolution: int = 64          # marching-cubes grid (paper: 128)
    n_points: int = 4096          # points per reconstructed cloud (paper: 8192)
    fscore_threshold: float = 0.01
    interpolation_steps: int = 5


def mesh_points(verts: np.ndarray, faces: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` points sampled uniformly on a mesh (zeros when the mesh is empty: a failed decode)."""
    if len(faces) == 0:
        return np.zeros((n, 3), dtype=np.float32)
    pts, _ = trimesh.sample.sample_surface(trimesh.Trimesh(verts, faces, process=False), n, seed=seed)
    return np.asarray(pts, dtype=np.float32)


def clouds_from_field(field_fn, batch: int, kind: str, p: ReconstructParams) -> list[np.ndarray]:
    """One point cloud per shape of a batched field function."""
    if kind == "udf":
        return list(point_cloud_from_udf(field_fn, batch, p.n_points, n_candidates=20 * p.n_points).numpy())
    grid = field_grid(field_fn, batch, p.resolution)
    to_mesh = occupancy_to_mesh if kind == "occupancy" else sdf_to_mesh
    return [mesh_points(*to_mesh(g), p.n_points, seed=i) for i, g in enumerate(grid)]


def voxel_iou(field_fn, gt_voxels: torch.Tensor, kind: str) -> torch.Tensor:
    """IoU of the field's inside test at the voxel centres vs ground-truth voxels ``[B,R,R,R]``."""
    r = gt_voxels.shape[-1]
    vals = field_grid(field_fn, gt_voxels.shape[0], r, centers=True)
    pred = vals > 0.5 if kind == "occupancy" else vals < 0
    return iou(pred.reshape(len(pred), -1), gt_voxels.reshape(len(pred), -1).bool())


def reconstruction_scores(field_fn, batch: int, kind: str, surface: torch.Tensor, p: ReconstructParams,
                          gt_voxels: torch.Tensor | None = None) -> tuple[dict[str, torch.Tensor], list[np.ndarray]]:
    """Per-shape Chamfer / F-score (and IoU when voxels are given) and the clouds themselves."""
    with torch.no_grad():
        clouds = clouds_from_field(field_fn, batch, kind, p)
    pts = torch.as_tensor(np.stack(clouds))
    scores = {"chamfer": chamfer_distance(pts, surface), "fscore": f_score(pts, surface, p.fscore_threshold)}
    if gt_voxels is not None and kind != "udf":
        with torch.no_grad():
            scores["iou"] = voxel_iou(field_fn, gt_voxels, kind)
    return scores, clouds


def nf_and_decoder_fields(spec, theta, decoder, emb, kind: str, clip: float):
    return nf_field_fn(spec, theta, kind, clip), decoder_field_fn(decoder, emb, kind, clip)

"""Fit quality of NFs, on-grid and off-grid (paper 004 §3.2), per NF.

* ``occupancy``: IoU of ``logit > 0`` on the voxel centres (on-grid, the fitted points) and on the
  prepared off-grid points (exact occupancy of the shape there); ``iou_ratio = off / on``.
* ``sdf``: IoU of ``sdf < 0`` on the query pool (on-grid) and off-grid points (a point-sampled
  IoU, as in occupancy-network evaluations).
* ``udf``: Chamfer distance and F-score between a point cloud extracted from the NF (dense
  candidates projected onto the zero level set along the gradient) and the ground-truth surface
  samples; plus mean absolute UDF error on-grid/off-grid and their ratio.
* ``pixels``: PSNR at pixel centres (on-grid) and at points between pixels against the bilinear
  (beta^1-spline) interpolation of the image (off-grid); ``psnr_ratio = off / on``.
"""
from __future__ import annotations

import functools

import torch

from ..decoders.reconstruct import nf_field_fn, project_to_surface
from ..fields.kinds import field_prediction
from ..fields.pixels import image_coords
from ..metrics.geometry import chamfer_distance, f_score, iou
from ..metrics.image import psnr
from ..nf.layout import ArchSpec
from ..store.prepared import PreparedData
from .engine import evaluate
from .targets import voxel_grid_centers


def udf_point_cloud(spec: ArchSpec, theta: torch.Tensor, candidates: torch.Tensor, clip: float,
                    n_points: int, iters: int = 3) -> torch.Tensor:
    """Points on the NF's zero level set: candidates ``[n,M,3]`` projected along the UDF gradient
    (:func:`~nf2vec_core.decoders.reconstruct.project_to_surface`), then the ``n_points`` with the
    smallest UDF kept."""
    field_fn = nf_field_fn(spec, theta, "udf", clip)
    p = project_to_surface(field_fn, candidates, iters)
    with torch.no_grad():
        keep = field_fn(p).topk(min(n_points, p.shape[1]), dim=1, largest=False).indices
        return torch.gather(p, 1, keep.unsqueeze(-1).expand(-1, -1, 3))


@torch.no_grad()
def quality(spec: ArchSpec, theta: torch.Tensor, data: PreparedData, start: int, stop: int,
            fscore_threshold: float = 0.01, on_grid: bool = True) -> dict[str, torch.Tensor]:
    """Per-NF quality metrics (each ``[n]``) for fitted parameters of items ``start:stop``.

    ``on_grid=False`` measures the off-grid metric only (``iou_offgrid``, ``psnr_offgrid`` or
    ``udf_mae_offgrid``): for occupancy the on-grid IoU evaluates every NF on all R^3 voxel
    centres, ~12% of the cost of fitting it, where the off-grid set has 8,192 points.
    """
    kind, clip = data.kind, float(data.meta.get("clip", 0.1))
    dev = theta.device

    @functools.lru_cache(maxsize=None)  # each tensor read once, whichever metric needs it first
    def load(name: str) -> torch.Tensor:
        return data.tensor(name, start, stop).to(dev)

    off = _offgrid_metric(spec, theta, kind, load, clip)
    if not on_grid:
        return off
    if kind == "pixels":
        img = load("images").float()
        n, h, w, c = img.shape
        on = field_prediction(kind, evaluate(spec, theta, image_coords(h, w).to(dev)), clip)
        psnr_on = psnr(on.clamp(0, 1), img.reshape(n, h * w, c))
        return {"psnr": psnr_on, **off, "psnr_ratio": off["psnr_offgrid"] / psnr_on}
    if kind in ("occupancy", "sdf"):
        if kind == "occupancy":
            vox = load("voxels")
            on_pred = evaluate(spec, theta, voxel_grid_centers(vox.shape[-1]).to(dev)).squeeze(-1) > 0
            on_gt = vox.reshape(vox.shape[0], -1).bool()
        else:
            on_pred = evaluate(spec, theta, load("coords")).squeeze(-1) < 0
            on_gt = load("values") < 0
        iou_on = iou(on_pred, on_gt)
        return {"iou": iou_on, **off, "iou_ratio": off["iou_offgrid"] / iou_on.clamp_min(1e-8)}
    # udf
    coords, values = load("coords"), load("values")
    mae_on = (field_prediction(kind, evaluate(spec, theta, coords), clip).squeeze(-1) - values).abs().mean(1)
    surface = load("surface")
    pts = udf_point_cloud(spec, theta, coords[:, : 4 * surface.shape[1]], clip, surface.shape[1])
    return {"chamfer": chamfer_distance(pts, surface), "fscore": f_score(pts, surface, fscore_threshold),
            "udf_mae": mae_on, **off, "udf_mae_ratio": off["udf_mae_offgrid"] / mae_on.clamp_min(1e-8)}


def _offgrid_metric(spec: ArchSpec, theta: torch.Tensor, kind: str, load, clip: float) -> dict[str, torch.Tensor]:
    """The off-grid metric of :func:`quality`: ``psnr_offgrid``, ``iou_offgrid`` or ``udf_mae_offgrid``."""
    if kind == "pixels":
        off_xy, off_gt = offgrid_pixels(load("images").float())
        off = field_prediction(kind, evaluate(spec, theta, off_xy.to(theta.device)), clip)
        return {"psnr_offgrid": psnr(off.clamp(0, 1), off_gt)}
    off_c, off_v = load("offgrid_coords"), load("offgrid_values")
    if kind == "occupancy":
        return {"iou_offgrid": iou(evaluate(spec, theta, off_c).squeeze(-1) > 0, off_v.bool())}
    if kind == "sdf":
        return {"iou_offgrid": iou(evaluate(spec, theta, off_c).squeeze(-1) < 0, off_v < 0)}
    pred = field_prediction(kind, evaluate(spec, theta, off_c), clip).squeeze(-1)
    return {"udf_mae_offgrid": (pred - off_v).abs().mean(1)}


def offgrid_pixels(img: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Points midway between pixel centres ``[(H-1)(W-1), 2]`` and the bilinear ground truth there
    (the average of the 4 neighbouring pixels: the beta^1 spline at the midpoint)."""
    n, h, w, c = img.shape
    ys = (torch.arange(h - 1, dtype=torch.float32) + 1.0) / h * 2 - 1
    xs = (torch.arange(w - 1, dtype=torch.float32) + 1.0) / w * 2 - 1
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    xy = torch.stack([gx, gy], dim=-1).reshape(-1, 2)
    gt = (img[:, :-1, :-1] + img[:, 1:, :-1] + img[:, :-1, 1:] + img[:, 1:, 1:]) / 4
    return xy, gt.reshape(n, -1, c)

"""Discrete shapes from fields: grids, UDF point clouds, marching-cubes meshes, voxels; interpolation.

Paper 000 §IV "Reconstruction": point clouds of 8192 points from UDFs, meshes by marching cubes on
a 128^3 grid from SDF/occupancy, voxels at 64^3; and linear interpolation of embeddings (and, for
comparison, of raw NF weights).

Everything works on a generic *field function* ``field_fn(points [B, M, 3]) -> values [B, M]``
(field values, e.g. UDF distances, SDF, occupancy probabilities) of ``B`` shapes, so the nf2vec
decoder (:func:`decoder_field_fn`) and the input NFs (:func:`nf_field_fn`) are reconstructed by the
same code. Grids cover ``[-1, 1]^3`` and are indexed ``[i, j, k] = (x, y, z)``: either the ``R``
corners ``linspace(-1, 1, R)`` (default; what marching cubes wants) or the ``R`` voxel centres
(``centers=True``; the voxel convention of :mod:`nf2vec_core.fields.voxels`).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

from ..errors import BadInputError, ConfigError
from ..fields.kinds import check_kind, field_prediction
from ..nf.functional import forward as nf_forward
from ..nf.layout import ArchSpec
from ..runtime import eval_chunk
from .implicit import ImplicitDecoder

FieldFn = Callable[[torch.Tensor], torch.Tensor]


# ----------------------------------------------------------------------------- field functions
def decoder_field_fn(decoder: ImplicitDecoder, emb: torch.Tensor, kind: str, clip: float = 0.1) -> FieldFn:
    """Field of the nf2vec decoder for embeddings ``emb [B, D]``: ``[B,M,3] -> [B,M]`` (channel 0)."""
    check_kind(kind)

    def fn(points: torch.Tensor) -> torch.Tensor:
        return field_prediction(kind, decoder(emb, points), clip)[..., 0]

    return fn


def nf_field_fn(spec: ArchSpec, theta: torch.Tensor, kind: str, clip: float = 0.1) -> FieldFn:
    """Field of NFs ``theta [B, P]`` (raw output through ``field_prediction``): ``[B,M,3] -> [B,M]``."""
    check_kind(kind)

    def fn(points: torch.Tensor) -> torch.Tensor:
        return field_prediction(kind, nf_forward(spec, theta, points), clip)[..., 0]

    return fn


# ----------------------------------------------------------------------------------- grids
def grid_coords_1d(resolution: int, centers: bool = False) -> torch.Tensor:
    """The ``R`` coordinates of one grid axis in ``[-1, 1]`` (corners or voxel centres)."""
    if resolution < 2:
        raise ConfigError(f"grid resolution must be >= 2, got {resolution}")
    if centers:
        return (torch.arange(resolution, dtype=torch.float32) + 0.5) / resolution * 2 - 1
    return torch.linspace(-1.0, 1.0, resolution)


def grid_points(resolution: int, centers: bool = False) -> torch.Tensor:
    """All ``R^3`` grid points ``[R^3, 3]`` in ``[i, j, k]`` C order (CPU, float32)."""
    c = grid_coords_1d(resolution, centers)
    return torch.stack(torch.meshgrid(c, c, c, indexing="ij"), dim=-1).reshape(-1, 3)


@torch.no_grad()
def field_grid(field_fn: FieldFn, batch: int, resolution: int, *, centers: bool = False,
               chunk: int | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
    """Field values ``[B, R, R, R]`` on the grid, queried ``chunk`` points at a time (on ``device``;
    default :func:`~nf2vec_core.runtime.eval_chunk`, cache-sized on CPU)."""
    pts = grid_points(resolution, centers).to(device)
    return field_values(field_fn, pts.unsqueeze(0).expand(batch, -1, -1), chunk).reshape(
        batch, resolution, resolution, resolution)


@torch.no_grad()
def field_values(field_fn: FieldFn, points: torch.Tensor, chunk: int | None = None) -> torch.Tensor:
    """Field values ``[B, M]`` at ``points [B, M, 3]``, queried ``chunk`` points at a time
    (default :func:`~nf2vec_core.runtime.eval_chunk`)."""
    chunk = chunk or eval_chunk(points.shape[0], points.is_cuda)
    return torch.cat([field_fn(points[:, i:i + chunk]).float() for i in range(0, points.shape[1], chunk)], dim=1)


def decode_grid(decoder: ImplicitDecoder, emb: torch.Tensor, resolution: int, kind: str,
                chunk: int | None = None, *, clip: float = 0.1, centers: bool = False) -> torch.Tensor:
    """Decoder field values ``[B, R, R, R]`` over ``[-1,1]^3`` for embeddings ``emb [B, D]``."""
    return field_grid(decoder_field_fn(decoder, emb, kind, clip), emb.shape[0], resolution,
                      centers=centers, chunk=chunk, device=emb.device)


def nf_grid(spec: ArchSpec, theta: torch.Tensor, resolution: int, kind: str, chunk: int | None = None, *,
            clip: float = 0.1, centers: bool = False) -> torch.Tensor:
    """NF field values ``[B, R, R, R]`` for NFs ``theta [B, P]`` (to compare with :func:`decode_grid`)."""
    return field_grid(nf_field_fn(spec, theta, kind, clip), theta.shape[0], resolution,
                      centers=centers, chunk=chunk, device=theta.device)


# ------------------------------------------------------------------------------ point clouds
def project_to_surface(field_fn: FieldFn, points: torch.Tensor, iters: int = 5,
                       chunk: int | None = None) -> torch.Tensor:
    """Move ``points [B, M, 3]`` onto the UDF zero set: ``p <- p - f(p) grad f / |grad f|``, ``iters`` times
    (``chunk`` points at a time; default :func:`~nf2vec_core.runtime.eval_chunk`)."""
    chunk = chunk or eval_chunk(points.shape[0], points.is_cuda)
    out = []
    for i in range(0, points.shape[1], chunk):
        p = points[:, i:i + chunk].detach()
        for _ in range(iters):
            with torch.enable_grad():
                q = p.detach().requires_grad_(True)
                f = field_fn(q)
                (g,) = torch.autograd.grad(f.sum(), q)
            p = (q - f.unsqueeze(-1) * torch.nn.functional.normalize(g, dim=-1)).detach()
        out.append(p)
    return torch.cat(out, dim=1)


def point_cloud_from_udf(field_fn: FieldFn, batch: int, n_points: int = 8192, *, iters: int = 5,
                         n_candidates: int = 100_000, threshold: float = 0.02, seed: int = 0,
                         chunk: int | None = None, device: torch.device | str = "cpu") -> torch.Tensor:
    """Dense point clouds ``[B, n_points, 3]`` on the zero set of UDFs (NDF / inr2vec procedure).

    1. ``n_candidates`` uniform points in ``[-1,1]^3`` per shape, projected ``iters`` times along
       the gradient; 2. keep those with ``UDF < threshold`` (at least the best 1 % per shape, so a
       poor field still yields a cloud); 3. resample ``n_points`` of them with replacement, jitter
       by ``N(0, threshold/3)`` and project again. Deterministic from ``seed``.
    """
    if n_points < 1 or n_candidates < 1:
        raise ConfigError(f"point cloud: n_points and n_candidates must be >= 1 ({n_points}, {n_candidates})")
    gen = torch.Generator().manual_seed(int(seed))
    cand = (torch.rand(batch, n_candidates, 3, generator=gen) * 2 - 1).to(device)
    chunk = chunk or eval_chunk(batch, cand.is_cuda)
    cand = project_to_surface(field_fn, cand, iters, chunk)
    with torch.no_grad():
        f = torch.cat([field_fn(cand[:, i:i + chunk]) for i in range(0, n_candidates, chunk)], dim=1)
    f = f.float().cpu()
    k = max(1, n_candidates // 100)
    thr = torch.maximum(torch.full((batch,), float(threshold)), torch.kthvalue(f, k, dim=1).values)
    weights = (f <= thr[:, None]).float()
    pick = torch.multinomial(weights, n_points, replacement=True, generator=gen).to(cand.device)
    pts = torch.gather(cand, 1, pick.unsqueeze(-1).expand(-1, -1, 3))
    noise = torch.randn(batch, n_points, 3, generator=gen).to(cand.device) * (threshold / 3)
    return project_to_surface(field_fn, pts + noise, iters, chunk)


def udf_to_point_cloud(decoder: ImplicitDecoder, emb: torch.Tensor, n_points: int = 8192,
                       iters: int = 5, *, clip: float = 0.1, **kwargs) -> torch.Tensor:
    """Point clouds ``[B, n_points, 3]`` from a UDF-trained decoder and embeddings ``emb [B, D]``."""
    return point_cloud_from_udf(decoder_field_fn(decoder, emb, "udf", clip), emb.shape[0], n_points,
                                iters=iters, device=emb.device, **kwargs)


def nf_udf_to_point_cloud(spec: ArchSpec, theta: torch.Tensor, n_points: int = 8192, iters: int = 5,
                          *, clip: float = 0.1, **kwargs) -> torch.Tensor:
    """Point clouds ``[B, n_points, 3]`` from UDF NFs ``theta [B, P]``."""
    return point_cloud_from_udf(nf_field_fn(spec, theta, "udf", clip), theta.shape[0], n_points,
                                iters=iters, device=theta.device, **kwargs)


# ------------------------------------------------------------------------------ meshes, voxels
def _as_numpy_grid(grid: torch.Tensor | np.ndarray) -> np.ndarray:
    g = grid.detach().float().cpu().numpy() if isinstance(grid, torch.Tensor) else np.asarray(grid, np.float32)
    if g.ndim != 3 or min(g.shape) < 2:
        raise BadInputError(None, f"marching cubes needs one [R, R, R] grid, got shape {g.shape}")
    if not np.isfinite(g).all():
        raise BadInputError(None, "field grid contains NaN or Inf")
    return g


def _marching_cubes(grid: torch.Tensor | np.ndarray, level: float, inside_low: bool,
                    centers: bool) -> tuple[np.ndarray, np.ndarray]:
    from skimage.measure import marching_cubes

    g = _as_numpy_grid(grid)
    if not (g.min() < level < g.max()):
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int64)
    verts, faces, _, _ = marching_cubes(g, level=level,
                                        gradient_direction="descent" if inside_low else "ascent")
    r = np.asarray(g.shape, np.float32)
    verts = (verts + 0.5) / r * 2 - 1 if centers else verts / (r - 1) * 2 - 1
    return verts.astype(np.float32), faces.astype(np.int64)


def sdf_to_mesh(grid: torch.Tensor | np.ndarray, level: float = 0.0, centers: bool = False
                ) -> tuple[np.ndarray, np.ndarray]:
    """Marching cubes of one SDF grid ``[R,R,R]`` (negative inside): ``(verts [V,3] in [-1,1]^3,
    faces [F,3])``, faces wound so normals point outwards; empty arrays when no surface crosses."""
    return _marching_cubes(grid, level, inside_low=True, centers=centers)


def occupancy_to_mesh(grid: torch.Tensor | np.ndarray, level: float = 0.5, centers: bool = False
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Marching cubes of one occupancy-probability grid ``[R,R,R]`` at ``level`` (see :func:`sdf_to_mesh`)."""
    return _marching_cubes(grid, level, inside_low=False, centers=centers)


def voxels_from_grid(grid: torch.Tensor, kind: str, threshold: float | None = None) -> torch.Tensor:
    """Boolean voxels ``[..., R, R, R]`` from field values on voxel centres.

    ``occupancy``: ``p > threshold`` (0.5); ``sdf``: ``sdf < threshold`` (0, solid voxels);
    ``udf``: ``udf < threshold`` (default ``sqrt(3)/R``, the half-diagonal of a voxel: a shell).
    """
    check_kind(kind)
    grid = torch.as_tensor(grid)
    if kind == "occupancy":
        return grid > (0.5 if threshold is None else threshold)
    if kind == "sdf":
        return grid < (0.0 if threshold is None else threshold)
    if kind == "udf":
        return grid < (math.sqrt(3) / grid.shape[-1] if threshold is None else threshold)
    raise ConfigError("voxels_from_grid: 'pixels' fields have no voxels")


# ----------------------------------------------------------------------------- interpolation
def interpolate(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """Linear interpolation ``[steps, *a.shape]`` from ``a`` (t=0) to ``b`` (t=1), endpoints included."""
    if a.shape != b.shape:
        raise ValueError(f"interpolate: shapes differ, {tuple(a.shape)} vs {tuple(b.shape)}")
    if steps < 2:
        raise ValueError(f"interpolate: steps must be >= 2, got {steps}")
    t = torch.linspace(0, 1, steps, device=a.device, dtype=a.dtype).view(-1, *([1] * a.dim()))
    return a.unsqueeze(0) + t * (b - a).unsqueeze(0)


def interpolate_weights(theta_a: torch.Tensor, theta_b: torch.Tensor, steps: int) -> torch.Tensor:
    """Linear interpolation of raw NF vectors ``[P]`` -> ``[steps, P]`` (paper 000 Fig. 8 baseline)."""
    if theta_a.dim() != 1:
        raise ValueError(f"interpolate_weights: expected flat vectors [P], got {tuple(theta_a.shape)}")
    return interpolate(theta_a, theta_b, steps)

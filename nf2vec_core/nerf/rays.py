"""Camera poses and rays (OpenGL / Blender convention), batched, torch.

Conventions
-----------
* A pose ``c2w [4, 4]`` maps camera to world coordinates. Camera axes are OpenGL's (the Blender
  and NeRF-synthetic convention): ``+x`` right, ``+y`` up, the camera looks along ``-z``. The
  camera centre is ``c2w[:3, 3]``.
* Pixel ``(row i, col j)`` has its centre at ``(j + 0.5, i + 0.5)`` in image coordinates (row 0 at
  the top); its camera-frame direction is ``((j + 0.5 - cx) / f, -(i + 0.5 - cy) / f, -1)`` with the
  principal point ``(cx, cy) = (W / 2, H / 2)`` by default.
* Ray directions are returned normalised, so the ray parameter ``t`` is a metric distance (the
  unit nerfacc's step sizes and near/far planes use).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

__all__ = ["look_at", "sphere_poses", "pixel_directions", "camera_rays", "rays_at_pixels", "ray_aabb",
           "ray_bounds"]


def _vec(v: Sequence[float] | torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    return torch.as_tensor(v, dtype=dtype)


def look_at(eye: torch.Tensor, target: Sequence[float] | torch.Tensor = (0.0, 0.0, 0.0),
            up: Sequence[float] | torch.Tensor = (0.0, 1.0, 0.0)) -> torch.Tensor:
    """Camera-to-world poses ``[..., 4, 4]`` of cameras at ``eye [..., 3]`` looking at ``target``.

    The camera ``-z`` axis points at the target and its ``+y`` axis is as close to ``up`` as
    possible (a camera looking straight along ``up`` gets a fallback up axis).
    """
    eye = torch.as_tensor(eye, dtype=torch.float32)
    target = _vec(target).to(eye).expand_as(eye)
    up_t = _vec(up).to(eye)
    z = torch.nn.functional.normalize(eye - target, dim=-1)
    x = torch.linalg.cross(up_t.expand_as(z), z, dim=-1)
    bad = x.norm(dim=-1, keepdim=True) < 1e-6
    if bool(bad.any()):
        alt = torch.roll(up_t, 1)  # any axis not parallel to up
        x = torch.where(bad, torch.linalg.cross(alt.expand_as(z), z, dim=-1), x)
    x = torch.nn.functional.normalize(x, dim=-1)
    y = torch.linalg.cross(z, x, dim=-1)
    c2w = torch.zeros(*eye.shape[:-1], 4, 4, dtype=eye.dtype)
    c2w[..., :3, 0], c2w[..., :3, 1], c2w[..., :3, 2], c2w[..., :3, 3] = x, y, z, eye
    c2w[..., 3, 3] = 1.0
    return c2w


def sphere_poses(n_views: int, radius: float, *, up: Sequence[float] = (0.0, 1.0, 0.0),
                 target: Sequence[float] = (0.0, 0.0, 0.0), rotation: float = 0.0) -> torch.Tensor:
    """``n_views`` cameras spread evenly over a sphere (Fibonacci lattice), looking at ``target``.

    Camera ``k`` sits at height ``h_k = 1 - 2 (k + 0.5) / n`` along ``up`` (uniform in area, the
    poles excluded) and azimuth ``k * golden_angle + rotation``; a different ``rotation`` gives a
    disjoint set of viewpoints (e.g. held-out views). Returns ``[n_views, 4, 4]`` (OpenGL axes).
    """
    if n_views < 1 or radius <= 0:
        raise ValueError(f"sphere_poses: need n_views >= 1 and radius > 0, got {n_views}, {radius}")
    k = torch.arange(n_views, dtype=torch.float64)
    h = 1.0 - 2.0 * (k + 0.5) / n_views
    r = torch.sqrt((1.0 - h * h).clamp_min(0.0))
    phi = k * math.pi * (3.0 - math.sqrt(5.0)) + rotation
    up_v = torch.nn.functional.normalize(_vec(up, torch.float64), dim=0)
    a = torch.linalg.cross(up_v, torch.roll(up_v, 1), dim=0)
    a = a / a.norm()
    b = torch.linalg.cross(up_v, a, dim=0)
    dirs = h[:, None] * up_v + r[:, None] * (torch.cos(phi)[:, None] * a + torch.sin(phi)[:, None] * b)
    eye = _vec(target, torch.float64) + radius * dirs
    return look_at(eye.float(), target, up)


def pixel_directions(height: int, width: int, focal: float, *, cx: float | None = None,
                     cy: float | None = None, device: torch.device | str | None = None) -> torch.Tensor:
    """Camera-frame directions ``[H, W, 3]`` through the pixel centres (``z = -1``, not normalised)."""
    cx = width / 2.0 if cx is None else cx
    cy = height / 2.0 if cy is None else cy
    i, j = torch.meshgrid(torch.arange(height, dtype=torch.float32, device=device),
                          torch.arange(width, dtype=torch.float32, device=device), indexing="ij")
    return torch.stack([(j + 0.5 - cx) / focal, -(i + 0.5 - cy) / focal, -torch.ones_like(i)], dim=-1)


def camera_rays(c2w: torch.Tensor, focal: float, height: int, width: int, *, cx: float | None = None,
                cy: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Rays through every pixel of cameras ``c2w [..., 4, 4]``.

    Returns ``(origins, directions)``, each ``[..., H, W, 3]``; directions are unit vectors.
    """
    d_cam = pixel_directions(height, width, focal, cx=cx, cy=cy, device=c2w.device).to(c2w.dtype)
    rot = c2w[..., None, None, :3, :3]                                 # [..., 1, 1, 3, 3]
    dirs = torch.nn.functional.normalize((rot @ d_cam.unsqueeze(-1)).squeeze(-1), dim=-1)
    origins = c2w[..., None, None, :3, 3].expand_as(dirs)
    return origins, dirs


def rays_at_pixels(c2w: torch.Tensor, focal: torch.Tensor | float, rows: torch.Tensor, cols: torch.Tensor,
                   height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rays of individual pixels: ``c2w [..., 4, 4]`` (one pose per ray), ``rows``/``cols`` ``[...]``.

    ``focal`` is a float or a tensor broadcastable to ``rows``. Returns unit-direction rays
    ``(origins [..., 3], directions [..., 3])`` identical to :func:`camera_rays` at those pixels.
    """
    focal = torch.as_tensor(focal, dtype=c2w.dtype, device=c2w.device)
    x = (cols.to(c2w.dtype) + 0.5 - width / 2.0) / focal
    y = -(rows.to(c2w.dtype) + 0.5 - height / 2.0) / focal
    d_cam = torch.stack([x, y, -torch.ones_like(x)], dim=-1)
    dirs = torch.nn.functional.normalize((c2w[..., :3, :3] @ d_cam.unsqueeze(-1)).squeeze(-1), dim=-1)
    return c2w[..., :3, 3].expand_as(dirs), dirs


def ray_aabb(origins: torch.Tensor, dirs: torch.Tensor, aabb: Sequence[float] | torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Slab intersection of rays ``[..., 3]`` with a box ``aabb = (x0, y0, z0, x1, y1, z1)``.

    Returns ``(t_enter, t_exit, hit)`` ``[...]``: the parameters where the *line* enters and leaves
    the box and whether the ray (``t >= 0``) meets it; ``t_enter`` may be negative for an origin
    inside the box.
    """
    box = torch.as_tensor(aabb, dtype=origins.dtype, device=origins.device)
    inv = 1.0 / torch.where(dirs.abs() < 1e-12, torch.full_like(dirs, 1e-12), dirs)
    t0 = (box[:3] - origins) * inv
    t1 = (box[3:] - origins) * inv
    t_enter = torch.minimum(t0, t1).amax(dim=-1)
    t_exit = torch.maximum(t0, t1).amin(dim=-1)
    return t_enter, t_exit, (t_exit > t_enter) & (t_exit > 0)


def ray_bounds(origins: torch.Tensor, dirs: torch.Tensor, near: float, far: float,
               aabb: Sequence[float] | torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-ray sampling interval ``[t_near, t_far]`` ``[...]``: the near/far planes, tightened to the
    box when ``aabb`` is given. Rays that miss get ``t_near == t_far`` (an empty interval)."""
    t_near = torch.full(origins.shape[:-1], float(near), dtype=origins.dtype, device=origins.device)
    t_far = torch.full_like(t_near, float(far))
    if aabb is not None:
        t0, t1, _ = ray_aabb(origins, dirs, aabb)
        t_near = torch.maximum(t_near, t0)
        t_far = torch.minimum(t_far, t1)
    t_far = torch.maximum(t_far, t_near)
    return t_near, t_far

"""The embedded multi-view dataset: procedural objects rendered from cameras on a sphere.

Each shape of :mod:`nf2vec_core.data.procedural` is meshed (:func:`shape_mesh`), every triangle
gets the colour of its semantic part (the label of the primitive nearest to its centroid,
:func:`shape_sdf`), and the mesh is rendered with a pure-PyTorch z-buffer rasteriser (vectorised
over triangles; no GPU, no ray-casting acceleration structure needed) from ``n_views`` cameras on a
Fibonacci sphere, plus ``n_val_views`` held-out cameras at other azimuths. Output views are RGBA
with straight alpha, anti-aliased by supersampling, and the poses use the Blender convention of
:mod:`.blender` / :mod:`.rays` (camera-to-world, OpenGL axes), so downstream code reads rendered
objects and real Blender scenes alike (:func:`render_dataset` writes the Blender layout).

Shading is Lambertian under a directional light fixed in the object frame plus an ambient term, so
the radiance of a surface point does not depend on the viewing direction -- exactly what a NeRF
without view-direction input can represent. Everything is deterministic in the configuration and
the shape; ``color_jitter`` perturbs the part colours per shape from ``(seed, shape seed)`` (the
colour augmentation of paper 000 §VI).

Colours (``palette``). ``part`` (the default): part ``k`` of every object has colour
``PALETTE[k]`` and the material is the configured ``ambient``, so objects of one class share their
colours and the colour alone can give the class away. ``object``: every object draws its own
palette and material from ``(seed, shape seed)``: each part an HSV colour (hue uniform, saturation
in :data:`OBJECT_SATURATION`, value in :data:`OBJECT_VALUE`) and the ambient term uniform in
:data:`OBJECT_AMBIENT` -- ShapeNet-like objects whose colours say nothing about their class.
"""
from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from ..data.procedural import PART_NAMES, ProceduralShape, shape_mesh, shape_sdf
from ..errors import ConfigError
from .blender import ViewSet, background_color, focal_from_fov, write_blender
from .rays import sphere_poses

__all__ = ["ViewRenderConfig", "ShapeViews", "PALETTE", "PALETTES", "part_colors", "shape_ambient", "face_labels",
           "rasterize", "render_mesh", "render_shape", "render_dataset"]

PALETTE: tuple[tuple[float, float, float], ...] = (
    (0.122, 0.467, 0.706), (1.000, 0.498, 0.055), (0.173, 0.627, 0.173), (0.839, 0.153, 0.157),
    (0.580, 0.404, 0.741), (0.549, 0.337, 0.294), (0.890, 0.467, 0.761), (0.737, 0.741, 0.133),
)
"""Base colour of part id ``k`` (matplotlib's tab10 without the greys); ids wrap around."""

PALETTES: tuple[str, ...] = ("part", "object")
OBJECT_SATURATION: tuple[float, float] = (0.2, 0.9)
OBJECT_VALUE: tuple[float, float] = (0.35, 1.0)
OBJECT_AMBIENT: tuple[float, float] = (0.2, 0.6)
"""Ranges of the ``object`` palette: HSV saturation and value of each part colour, ambient term."""


@dataclass(frozen=True)
class ViewRenderConfig:
    """How objects are rendered (the ``render_views`` section of params.yaml)."""

    n_views: int = 36                  # training views (Fibonacci sphere)
    n_val_views: int = 4               # held-out views (same sphere, other azimuths)
    height: int = 64
    width: int = 64
    radius: float = 3.2                # camera distance from the origin (objects fit [-0.9, 0.9]^3)
    fov_deg: float = 60.0              # horizontal field of view
    mesh_resolution: int = 64          # marching-cubes grid of shape_mesh
    supersample: int = 2               # anti-aliasing: render ss x ss samples per pixel
    shading: Literal["lambert", "flat"] = "lambert"
    ambient: float = 0.35
    light_dir: tuple[float, float, float] = (0.4, 1.0, 0.6)   # object frame, +y up
    color_jitter: float = 0.0          # max per-channel colour change per part and shape
    seed: int = 0
    palette: Literal["part", "object"] = "part"   # part: PALETTE by part id; object: per-object colours and material

    def __post_init__(self) -> None:
        for name in ("n_views", "height", "width", "supersample"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"render_views.{name}: must be >= 1, got {getattr(self, name)}")
        if self.n_val_views < 0:
            raise ValueError(f"render_views.n_val_views: must be >= 0, got {self.n_val_views}")
        if not 1.0 < self.fov_deg < 170.0:
            raise ValueError(f"render_views.fov_deg: must be in (1, 170), got {self.fov_deg}")
        if self.radius <= math.sqrt(3.0):
            raise ValueError(f"render_views.radius: cameras must be outside the object box, got {self.radius}")
        if not 0.0 <= self.ambient <= 1.0 or not 0.0 <= self.color_jitter <= 1.0:
            raise ValueError("render_views.ambient and color_jitter must be in [0, 1]")
        if self.palette not in PALETTES:
            raise ValueError(f"param 'palette' must be one of {list(PALETTES)}, got {self.palette!r}")

    @property
    def camera_angle_x(self) -> float:
        return math.radians(self.fov_deg)

    @property
    def focal(self) -> float:
        return focal_from_fov(self.camera_angle_x, self.width)

    def poses(self, split: str) -> torch.Tensor:
        """Camera-to-world poses of a split: ``train`` (``n_views``) or ``val`` (``n_val_views``)."""
        if split == "train":
            return sphere_poses(self.n_views, self.radius)
        if split == "val":
            if self.n_val_views == 0:
                return torch.zeros(0, 4, 4)
            # half a golden angle off the training azimuths: none coincides with a training view
            return sphere_poses(self.n_val_views, self.radius, rotation=0.5 * math.pi * (3.0 - math.sqrt(5.0)) + 0.3)
        raise ValueError(f"unknown split {split!r}; expected 'train' or 'val'")


@dataclass
class ShapeViews:
    """Rendered views of one object: straight-alpha ``rgba [V,H,W,4]`` and poses ``c2w [V,4,4]``."""

    rgba: torch.Tensor
    c2w: torch.Tensor
    camera_angle_x: float

    def viewset(self, background: str | Sequence[float] = "white") -> ViewSet:
        """As a :class:`ViewSet` composited over ``background`` (what :func:`read_blender` returns)."""
        bg = background_color(background)
        a = self.rgba[..., 3]
        rgb = self.rgba[..., :3] * a.unsqueeze(-1) + bg * (1.0 - a.unsqueeze(-1))
        return ViewSet(rgb, a.clone(), self.c2w.clone(), focal_from_fov(self.camera_angle_x, self.rgba.shape[2]), bg)


# ------------------------------------------------------------------------------ colours
def _object_rng(shape: ProceduralShape, cfg: ViewRenderConfig, stream: int) -> np.random.Generator:
    return np.random.default_rng([int(cfg.seed), int(shape.seed), stream])


def part_colors(shape: ProceduralShape, cfg: ViewRenderConfig) -> np.ndarray:
    """Colour ``[n_parts, 3]`` of every semantic part of ``shape`` (palette + optional jitter)."""
    n = len(PART_NAMES[shape.class_name])
    if cfg.palette == "object":
        hsv = _object_rng(shape, cfg, 13).uniform([0.0, OBJECT_SATURATION[0], OBJECT_VALUE[0]],
                                                  [1.0, OBJECT_SATURATION[1], OBJECT_VALUE[1]], (n, 3))
        base = np.array([colorsys.hsv_to_rgb(*c) for c in hsv], dtype=np.float64)
    else:
        base = np.array([PALETTE[k % len(PALETTE)] for k in range(n)], dtype=np.float64)
    if cfg.color_jitter > 0:
        rng = np.random.default_rng([int(cfg.seed), int(shape.seed), 7])
        base = np.clip(base + rng.uniform(-cfg.color_jitter, cfg.color_jitter, base.shape), 0.0, 1.0)
    return base


def shape_ambient(shape: ProceduralShape, cfg: ViewRenderConfig) -> float:
    """The ambient term of ``shape``'s material: ``cfg.ambient`` (``part``), or drawn per object
    from ``(seed, shape seed)`` in :data:`OBJECT_AMBIENT` (``object``)."""
    if cfg.palette == "object":
        return float(_object_rng(shape, cfg, 17).uniform(*OBJECT_AMBIENT))
    return cfg.ambient


def face_labels(shape: ProceduralShape, faces_center: np.ndarray) -> np.ndarray:
    """Semantic part id ``[F]`` of every triangle (label of the SDF at its centroid)."""
    return shape_sdf(shape, np.asarray(faces_center, dtype=np.float64))[1]


# ---------------------------------------------------------------------------- rasteriser
@dataclass
class Raster:
    """Per-pixel result of :func:`rasterize`: visible face (``-1`` for none), camera-space depth
    (distance along the viewing axis, ``inf`` for none) and perspective-correct barycentrics."""

    face: torch.Tensor      # [H, W] long
    depth: torch.Tensor     # [H, W]
    bary: torch.Tensor      # [H, W, 3]


def rasterize(vertices: torch.Tensor, faces: torch.Tensor, c2w: torch.Tensor, focal: float, height: int,
              width: int, *, near: float = 1e-3) -> Raster:
    """Z-buffer rasterisation of one view, vectorised over triangles (pixel-centre sampling).

    Every triangle is projected, the pixel centres inside its screen bounding box are enumerated
    (one row per (triangle, pixel) candidate), tested with edge functions and depth-tested with a
    scatter-min. Triangles with a vertex closer than ``near`` to the camera plane are dropped
    (cameras are outside the objects). Same pixel convention as :func:`.rays.camera_rays`.
    """
    v = vertices.to(torch.float64)
    rot, eye = c2w[:3, :3].to(v), c2w[:3, 3].to(v)
    cam = (v - eye) @ rot                                   # world -> camera (row vectors)
    z = -cam[:, 2]                                          # depth in front of the camera
    u = focal * cam[:, 0] / z + width / 2.0
    w = -focal * cam[:, 1] / z + height / 2.0
    fz = z[faces]                                           # [F, 3]
    keep = (fz > near).all(dim=1)
    f_idx = keep.nonzero().flatten()
    fu, fw, fz = u[faces[f_idx]], w[faces[f_idx]], fz[f_idx]
    area = (fu[:, 1] - fu[:, 0]) * (fw[:, 2] - fw[:, 0]) - (fu[:, 2] - fu[:, 0]) * (fw[:, 1] - fw[:, 0])
    ok = area.abs() > 1e-12
    f_idx, fu, fw, fz, area = f_idx[ok], fu[ok], fw[ok], fz[ok], area[ok]
    # pixel centres (j + 0.5, i + 0.5) inside the bounding box
    j0 = torch.ceil(fu.amin(1) - 0.5).clamp(min=0).long()
    j1 = torch.floor(fu.amax(1) - 0.5).clamp(max=width - 1).long()
    i0 = torch.ceil(fw.amin(1) - 0.5).clamp(min=0).long()
    i1 = torch.floor(fw.amax(1) - 0.5).clamp(max=height - 1).long()
    nj = (j1 - j0 + 1).clamp(min=0)
    ni = (i1 - i0 + 1).clamp(min=0)
    counts = nj * ni
    face_out = torch.full((height * width,), -1, dtype=torch.long)
    depth_out = torch.full((height * width,), math.inf, dtype=torch.float64)
    bary_out = torch.zeros(height * width, 3, dtype=torch.float64)
    total = int(counts.sum())
    if total == 0:
        return Raster(face_out.view(height, width), depth_out.view(height, width).float(),
                      bary_out.view(height, width, 3).float())
    tri = torch.repeat_interleave(torch.arange(len(f_idx)), counts)
    start = torch.cumsum(counts, 0) - counts
    local = torch.arange(total) - start[tri]
    jj = j0[tri] + local % nj[tri]
    ii = i0[tri] + local // nj[tri]
    px, py = jj.to(v) + 0.5, ii.to(v) + 0.5
    a, b = fu[tri], fw[tri]
    # screen-space barycentrics from edge functions (sign-normalised by the triangle area)
    e0 = (a[:, 2] - a[:, 1]) * (py - b[:, 1]) - (b[:, 2] - b[:, 1]) * (px - a[:, 1])
    e1 = (a[:, 0] - a[:, 2]) * (py - b[:, 2]) - (b[:, 0] - b[:, 2]) * (px - a[:, 2])
    e2 = (a[:, 1] - a[:, 0]) * (py - b[:, 0]) - (b[:, 1] - b[:, 0]) * (px - a[:, 0])
    bs = torch.stack([e0, e1, e2], 1) / area[tri].unsqueeze(1)
    inside = (bs >= 0).all(1)
    tri, bs, pix = tri[inside], bs[inside], (ii * width + jj)[inside]
    inv_z = (bs / fz[tri]).sum(1)                          # 1/z is affine in screen space
    depth = 1.0 / inv_z
    bary = bs / fz[tri] * depth.unsqueeze(1)               # perspective-correct barycentrics
    depth_out.scatter_reduce_(0, pix, depth, reduce="amin")
    win = depth <= depth_out[pix]
    cand = torch.full((height * width,), -1, dtype=torch.long)
    cand.scatter_reduce_(0, pix[win], win.nonzero().flatten(), reduce="amax")   # one winner per pixel
    hit = cand >= 0
    chosen = cand[hit]
    face_out[hit] = f_idx[tri[chosen]]
    bary_out[hit] = bary[chosen]
    return Raster(face_out.view(height, width), depth_out.view(height, width).float(),
                  bary_out.view(height, width, 3).float())


def render_mesh(vertices: torch.Tensor, faces: torch.Tensor, face_colors: torch.Tensor, c2w: torch.Tensor,
                focal: float, height: int, width: int, *, vertex_normals: torch.Tensor | None = None,
                supersample: int = 1, ambient: float = 0.35,
                light_dir: Sequence[float] = (0.4, 1.0, 0.6)) -> torch.Tensor:
    """Straight-alpha RGBA ``[V,H,W,4]`` of a mesh seen by cameras ``c2w [V,4,4]``.

    ``face_colors [F,3]`` are the base colours; with ``vertex_normals`` the colour is shaded
    ``base * (ambient + (1 - ambient) * max(0, n.l))`` with smooth (interpolated) normals and the
    world-fixed light direction ``light_dir``; without, it is flat (unshaded). Each pixel averages
    ``supersample^2`` samples (coverage -> alpha; colour averaged over covered samples).
    """
    ss = int(supersample)
    hs, ws = height * ss, width * ss
    light = torch.nn.functional.normalize(torch.as_tensor(light_dir, dtype=torch.float32), dim=0)
    out = torch.zeros(c2w.shape[0], height, width, 4)
    for k in range(c2w.shape[0]):
        r = rasterize(vertices, faces, c2w[k], focal * ss, hs, ws)
        hit = r.face >= 0
        col = torch.zeros(hs, ws, 3)
        fid = r.face[hit]
        base = face_colors[fid].float()
        if vertex_normals is not None:
            n = (vertex_normals[faces[fid]].float() * r.bary[hit].unsqueeze(-1)).sum(1)
            n = torch.nn.functional.normalize(n, dim=-1)
            base = base * (ambient + (1.0 - ambient) * (n @ light).clamp_min(0.0)).unsqueeze(-1)
        col[hit] = base
        cov = hit.float()
        pre = torch.cat([col * cov.unsqueeze(-1), cov.unsqueeze(-1)], -1)          # premultiplied
        pre = pre.view(height, ss, width, ss, 4).mean(dim=(1, 3))
        alpha = pre[..., 3:]
        rgb = torch.where(alpha > 0, pre[..., :3] / alpha.clamp_min(1e-8), torch.zeros_like(pre[..., :3]))
        out[k] = torch.cat([rgb.clamp(0.0, 1.0), alpha], -1)
    return out


def render_shape(shape: ProceduralShape, cfg: ViewRenderConfig, split: str = "train") -> ShapeViews:
    """Render one procedural shape (canonical frame) from the cameras of ``split``."""
    mesh = shape_mesh(shape, cfg.mesh_resolution)
    labels = face_labels(shape, mesh.triangles_center)
    colors = torch.from_numpy(part_colors(shape, cfg)[labels]).float()
    verts = torch.from_numpy(np.array(mesh.vertices, dtype=np.float64))
    faces = torch.from_numpy(np.array(mesh.faces, dtype=np.int64))
    normals = torch.from_numpy(np.array(mesh.vertex_normals, dtype=np.float32)) \
        if cfg.shading == "lambert" else None
    c2w = cfg.poses(split)
    rgba = render_mesh(verts, faces, colors, c2w, cfg.focal, cfg.height, cfg.width, vertex_normals=normals,
                       supersample=cfg.supersample, ambient=shape_ambient(shape, cfg), light_dir=cfg.light_dir)
    return ShapeViews(rgba, c2w, cfg.camera_angle_x)


def render_dataset(shapes: Sequence[ProceduralShape], out_dir: str | Path, cfg: ViewRenderConfig,
                   *, ids: Sequence[str] | None = None, progress: bool = True) -> pd.DataFrame:
    """Render every shape into ``out_dir/<id>/`` in the Blender layout (``train`` and ``val`` splits).

    ``ids`` default to ``{class}_{index:05d}``. Writes ``out_dir/index.csv`` (id, class, class_id,
    shape_seed, path relative to ``out_dir``) and returns it.
    """
    out_dir = Path(out_dir)
    if ids is None:
        ids = [f"{s.class_name}_{i:05d}" for i, s in enumerate(shapes)]
    if len(ids) != len(shapes) or len(set(ids)) != len(ids):
        raise ConfigError("render_dataset: ids must be unique, one per shape")
    rows = []
    splits = ["train"] + (["val"] if cfg.n_val_views > 0 else [])
    for sid, shape in tqdm(list(zip(ids, shapes)), desc="render views", unit="object", disable=not progress):
        for split in splits:
            views = render_shape(shape, cfg, split)
            write_blender(out_dir / sid, split, views.rgba, views.c2w, views.camera_angle_x,
                          extra={"class_name": shape.class_name, "shape_seed": int(shape.seed)})
        rows.append({"id": sid, "class_name": shape.class_name, "class_id": shape.class_id,
                     "shape_seed": int(shape.seed), "path": sid})
    index = pd.DataFrame(rows, columns=["id", "class_name", "class_id", "shape_seed", "path"])
    out_dir.mkdir(parents=True, exist_ok=True)
    index.to_csv(out_dir / "index.csv", index=False)
    return index

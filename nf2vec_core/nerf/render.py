"""Volume rendering of a batch of NeRFs (nerfacc), with a pure-PyTorch reference compositor.

Two sampling paths, chosen by :attr:`.render_config.RenderConfig.estimator` (``auto``: the occupancy grid on
CUDA when grids are given, the batched path otherwise):

* ``batched`` (any device; the CPU path). Every ray gets ``samples_per_ray`` equal intervals over
  ``[t_near, t_far]`` -- the near/far planes clipped to the NeRF's scene box, so space outside the
  box is empty -- shifted by one random offset per ray when stratified (the jitter nerfacc's
  estimators use). Samples are ``[rays, samples]`` tensors; densities and colours of all NeRFs come
  from one batched forward (:func:`.arch.radiance`) and are composited by nerfacc's batched
  :func:`nerfacc.rendering` (pure PyTorch in nerfacc 0.5.3 for batched inputs) or by
  :func:`composite_reference`.
* ``occgrid`` (empty-space skipping; :mod:`.occgrid`). Each NeRF has its own occupancy grid
  (:class:`.occgrid.OccGrids`), updated during fitting from its density; rays are marched with a
  small constant step and only samples in occupied cells that the ray still sees are kept. On CUDA
  the march is nerfacc's kernel and the packed samples are composited by :func:`nerfacc.rendering`
  with ``ray_indices``; elsewhere the pure-PyTorch references run (:func:`.occgrid.march_reference`,
  :func:`composite_packed_reference`). The packed samples of the ``N`` NeRFs go through one batched
  forward, padded to ``[N, M_max, 3]``.

Compositing (both compositors): interval ``i`` of length ``delta_i`` has opacity
``alpha_i = 1 - exp(-sigma_i delta_i)``, transmittance ``T_i = prod_{j<i} (1 - alpha_j)``, weight
``w_i = T_i alpha_i``; colour ``sum w_i c_i + (1 - sum w_i) * background``; depth is the weighted
mean of the interval midpoints.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import nerfacc
import torch

from . import occgrid
from .arch import NerfArch, radiance
from .occgrid import OccGrids, packed_layout, packed_radiance
from .rays import camera_rays, ray_bounds
from .render_config import RenderConfig

__all__ = ["RenderOutput", "stratified_intervals", "composite_reference", "composite_nerfacc",
           "composite_packed_reference", "render_rays", "render_field", "render_images", "use_occgrid"]


@dataclass
class RenderOutput:
    """Rendered rays: ``color [..., 3]`` (composited over the background), ``opacity [...]``,
    ``depth [...]`` (ray distance; meaningless where the opacity is ~0)."""

    color: torch.Tensor
    opacity: torch.Tensor
    depth: torch.Tensor


def use_occgrid(cfg: RenderConfig, device: torch.device) -> bool:
    """Whether the occupancy-grid path runs: always for ``occgrid`` (nerfacc's kernel on CUDA, the
    pure-PyTorch march elsewhere), for ``auto`` on CUDA only (on CPU the batched path is faster)."""
    if cfg.estimator == "occgrid":
        return True
    return cfg.estimator == "auto" and device.type == "cuda" and torch.cuda.is_available()


# ------------------------------------------------------------------------------ sampling
def stratified_intervals(t_near: torch.Tensor, t_far: torch.Tensor, n_samples: int,
                         jitter: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_samples`` equal intervals over ``[t_near, t_far]`` per ray: ``(t_starts, t_ends) [..., S]``.

    ``jitter [...]`` in ``[0, 1)`` shifts a ray's intervals by ``jitter * step`` (stratified
    sampling); None gives the deterministic grid. Empty intervals (``t_near == t_far``) give zero
    lengths, hence zero opacity.
    """
    step = (t_far - t_near) / n_samples
    k = torch.arange(n_samples, dtype=t_near.dtype, device=t_near.device)
    start = t_near if jitter is None else t_near + jitter.to(t_near) * step
    t_starts = start.unsqueeze(-1) + k * step.unsqueeze(-1)
    return t_starts, t_starts + step.unsqueeze(-1)


# ---------------------------------------------------------------------------- compositing
def composite_reference(rgbs: torch.Tensor, sigmas: torch.Tensor, t_starts: torch.Tensor, t_ends: torch.Tensor,
                        background: torch.Tensor | None = None) -> tuple[RenderOutput, torch.Tensor]:
    """Alpha compositing in plain PyTorch (the classic NeRF quadrature, cumulative product of
    ``1 - alpha``). ``rgbs [..., S, 3]``, ``sigmas/t_starts/t_ends [..., S]``, ``background``
    broadcastable to ``[..., 3]``. Returns the output and the weights ``[..., S]``."""
    alphas = 1.0 - torch.exp(-sigmas * (t_ends - t_starts))
    ones = torch.ones_like(alphas[..., :1])
    trans = torch.cumprod(torch.cat([ones, 1.0 - alphas[..., :-1]], dim=-1), dim=-1)
    weights = trans * alphas
    opacity = weights.sum(-1)
    color = (weights.unsqueeze(-1) * rgbs).sum(-2)
    depth = (weights * 0.5 * (t_starts + t_ends)).sum(-1) / opacity.clamp_min(torch.finfo(opacity.dtype).eps)
    if background is not None:
        color = color + background * (1.0 - opacity.unsqueeze(-1))
    return RenderOutput(color, opacity, depth), weights


def composite_nerfacc(rgbs: torch.Tensor, sigmas: torch.Tensor, t_starts: torch.Tensor, t_ends: torch.Tensor,
                      background: torch.Tensor | None = None) -> tuple[RenderOutput, torch.Tensor]:
    """Same contract as :func:`composite_reference`, through nerfacc's batched
    :func:`nerfacc.rendering` (``[rays, samples]`` inputs; leading dims are flattened)."""
    lead, s = sigmas.shape[:-1], sigmas.shape[-1]
    ts, te = t_starts.reshape(-1, s), t_ends.reshape(-1, s)
    rg, sg = rgbs.reshape(-1, s, 3), sigmas.reshape(-1, s)
    color, opacity, depth, extras = nerfacc.rendering(ts, te, rgb_sigma_fn=lambda *_: (rg, sg))
    color, opacity, depth = color.view(*lead, 3), opacity.view(lead), depth.view(lead)
    if background is not None:
        color = color + background * (1.0 - opacity.unsqueeze(-1))
    return RenderOutput(color, opacity, depth), extras["weights"].view(*lead, s)


def composite_packed_reference(rgbs: torch.Tensor, sigmas: torch.Tensor, t_starts: torch.Tensor,
                               t_ends: torch.Tensor, ray_indices: torch.Tensor, n_rays: int,
                               background: torch.Tensor | None = None) -> tuple[RenderOutput, torch.Tensor]:
    """:func:`composite_reference` for packed samples (``rgbs [M, 3]``, the rest ``[M]``, sorted by
    ``ray_indices``): the reference of :func:`nerfacc.rendering` with ``ray_indices`` (CUDA only in
    nerfacc 0.5.3). Samples are padded into a dense ``[n_rays, K]`` layout (empty slots have zero
    length, hence zero opacity). Returns ``[n_rays, ...]`` outputs and the packed weights ``[M]``."""
    col, k = packed_layout(ray_indices, n_rays)
    idx = (ray_indices, col)

    def dense(x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(n_rays, k, *x.shape[1:]).index_put(idx, x)
    out, weights = composite_reference(dense(rgbs), dense(sigmas), dense(t_starts), dense(t_ends), background)
    return out, weights[idx]


def _render_occgrid(arch: NerfArch, theta: torch.Tensor, origins: torch.Tensor, dirs: torch.Tensor,
                    grids: OccGrids, cfg: RenderConfig, background: torch.Tensor | None,
                    jitter: torch.Tensor | None) -> RenderOutput:
    n, r = origins.shape[:2]
    ray_idx, ts, te = grids.sample(theta, origins, dirs, jitter)
    x = origins.reshape(-1, 3)[ray_idx] + dirs.reshape(-1, 3)[ray_idx] * (0.5 * (ts + te)).unsqueeze(-1)
    rgb, sigma = packed_radiance(arch, theta, x, ray_idx // r)                 # one batched forward, padded
    if occgrid.nerfacc_kernels(origins.device) and cfg.compositor == "nerfacc":
        color, opacity, depth, _ = nerfacc.rendering(ts, te, ray_indices=ray_idx, n_rays=n * r,
                                                     rgb_sigma_fn=lambda *_: (rgb, sigma))
        out = RenderOutput(color, opacity.squeeze(-1), depth.squeeze(-1))
    else:
        out, _ = composite_packed_reference(rgb, sigma, ts, te, ray_idx, n * r)
    color, opacity, depth = out.color.view(n, r, 3), out.opacity.view(n, r), out.depth.view(n, r)
    if background is not None:
        color = color + background * (1.0 - opacity.unsqueeze(-1))
    return RenderOutput(color, opacity, depth)


# ------------------------------------------------------------------------------ rendering
def render_rays(arch: NerfArch, theta: torch.Tensor, origins: torch.Tensor, dirs: torch.Tensor,
                cfg: RenderConfig, *, background: torch.Tensor | None = None, jitter: torch.Tensor | None = None,
                grids: OccGrids | None = None) -> RenderOutput:
    """Render rays ``origins/dirs [N, R, 3]`` (unit directions) through ``N`` NeRFs ``theta [N, P]``.

    ``background`` broadcastable to ``[N, R, 3]`` (None: black, no compositing); ``jitter [N, R]``
    in ``[0, 1)`` makes the sampling stratified (None: deterministic). With ``grids`` the
    occupancy-grid path runs when :func:`use_occgrid` says so (``occgrid``, or ``auto`` on CUDA). Differentiable in ``theta``. Returns ``[N, R, ...]`` tensors.
    """
    if grids is not None and use_occgrid(cfg, origins.device):
        return _render_occgrid(arch, theta, origins, dirs, grids, cfg, background, jitter)
    if cfg.estimator == "occgrid":
        raise RuntimeError("render.estimator 'occgrid' needs occupancy grids (OccGrids)")
    return render_field(lambda pts: radiance(arch, theta, pts), origins, dirs, cfg, arch.aabb,
                        background=background, jitter=jitter)


def render_field(field, origins: torch.Tensor, dirs: torch.Tensor, cfg: RenderConfig,
                 aabb: Sequence[float] | None, *, background: torch.Tensor | None = None,
                 jitter: torch.Tensor | None = None) -> RenderOutput:
    """The batched path for any batched radiance field ``field(points [N, M, 3]) -> (rgb [N,M,3],
    sigma [N,M])`` (a NeRF's weights, or the nf2vec decoder conditioned on embeddings)."""
    n, r = origins.shape[:2]
    t_near, t_far = ray_bounds(origins, dirs, cfg.near, cfg.far, aabb if cfg.clip_to_aabb else None)
    ts, te = stratified_intervals(t_near, t_far, cfg.samples_per_ray, jitter)        # [N, R, S]
    mids = 0.5 * (ts + te)
    pts = origins.unsqueeze(-2) + dirs.unsqueeze(-2) * mids.unsqueeze(-1)            # [N, R, S, 3]
    rgb, sigma = field(pts.reshape(n, -1, 3))
    rgb, sigma = rgb.view(n, r, -1, 3), sigma.view(n, r, -1)
    composite = composite_nerfacc if cfg.compositor == "nerfacc" else composite_reference
    out, _ = composite(rgb, sigma, ts, te, background)
    return out


@torch.no_grad()
def render_images(arch: NerfArch, theta: torch.Tensor, c2w: torch.Tensor, focal: torch.Tensor | float, height: int,
                  width: int, cfg: RenderConfig, *, background: torch.Tensor | None = None,
                  grids: OccGrids | None = None, chunk_rays: int = 4096, field=None) -> RenderOutput:
    """Render views ``c2w [N, V, 4, 4]`` of ``N`` NeRFs (focal ``[N]`` or a float, pixels).

    ``background`` ``[3]`` or ``[N, 3]``. Rays are processed ``chunk_rays`` per NeRF at a time.
    ``field``: render this batched radiance field instead of ``theta`` (see :func:`render_field`;
    e.g. the nf2vec decoder), inside ``arch``'s box.
    Returns ``color [N, V, H, W, 3]``, ``opacity``/``depth`` ``[N, V, H, W]``.
    """
    n, v = c2w.shape[:2]
    focal_t = torch.as_tensor(focal, dtype=c2w.dtype, device=c2w.device).expand(n)
    o_list, d_list = [], []
    for i in range(n):
        o, d = camera_rays(c2w[i], float(focal_t[i]), height, width)                # [V, H, W, 3]
        o_list.append(o.reshape(-1, 3))
        d_list.append(d.reshape(-1, 3))
    origins, dirs = torch.stack(o_list), torch.stack(d_list)                        # [N, VHW, 3]
    bg = None
    if background is not None:
        bg = background.to(origins).view(-1, 1, 3) if background.dim() == 2 else background.to(origins)
    outs = []
    for a in range(0, origins.shape[1], chunk_rays):
        o, d = origins[:, a:a + chunk_rays], dirs[:, a:a + chunk_rays]
        outs.append(render_field(field, o, d, cfg, arch.aabb, background=bg) if field is not None
                    else render_rays(arch, theta, o, d, cfg, background=bg, grids=grids))
    color = torch.cat([o.color for o in outs], 1).view(n, v, height, width, 3)
    opacity = torch.cat([o.opacity for o in outs], 1).view(n, v, height, width)
    depth = torch.cat([o.depth for o in outs], 1).view(n, v, height, width)
    return RenderOutput(color, opacity, depth)

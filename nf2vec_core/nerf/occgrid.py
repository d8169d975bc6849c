"""Occupancy-grid sampling (empty-space skipping) for a batch of NeRFs: nerfacc's CUDA ray marching
and a pure-PyTorch reference of it, tested against each other.

Each NeRF of a batch has its own :class:`nerfacc.OccGridEstimator` (its own occupancy), updated
from that NeRF's density during fitting (:meth:`OccGrids.update`, nerfacc's EMA update, plain
PyTorch on any device). Sampling a ray marches it with a constant step from its near plane,
``t_k = near + k * step``; interval ``[t_k, t_k + step]`` is kept when its midpoint lies inside the
scene box, before the far plane, and in an occupied cell. Samples a NeRF would not see are then
dropped: opacity below ``alpha_threshold`` or transmittance below ``early_stop_eps``
(:func:`visibility_reference`). Two implementations of the march:

* ``nerfacc`` (CUDA): :meth:`nerfacc.OccGridEstimator.sampling`, a DDA traversal kernel, one call
  per NeRF.
* ``reference`` (any device; the CPU path): :func:`march_reference` marches all rays of all NeRFs
  at once on a dense ``[N, R, K]`` grid of candidate steps, looks each midpoint up in its NeRF's
  binary grid and packs the survivors. It produces the kernel's samples (up to float32 rounding
  of the step accumulation at cell borders), so the occupancy-grid path also runs, and is tested,
  without a GPU.

Stratified sampling uses the caller's per-ray jitter ``u`` in ``[0, 1)`` as the near-plane offset
``u * step`` in both implementations (nerfacc's own ``stratified`` flag draws from the global RNG;
passing ``t_min`` instead keeps a NeRF's samples a function of its seeded generator).

Packed samples ``(ray_indices, t_starts, t_ends)`` are sorted by ray; ray ``j`` of NeRF ``i`` has the
global index ``i * R + j``.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Sequence

import nerfacc
import torch

from ..nf.init import _derive
from .arch import NerfArch, radiance
from .rays import ray_aabb
from .render_config import RenderConfig

__all__ = ["OccGrids", "march_reference", "nerfacc_kernels", "packed_layout", "packed_radiance",
           "transmittance_reference", "visibility_reference"]


def nerfacc_kernels(device: torch.device) -> bool:
    """Whether nerfacc's compiled kernels (ray marching, packed scans) serve tensors on ``device``:
    on CUDA only (nerfacc 0.5.3 ships no CPU kernels); elsewhere the pure-PyTorch references run.
    The one switch of both the sampling and the packed compositing, so tests can run nerfacc's
    code path with its kernels emulated on the CPU."""
    return device.type == "cuda"


# ------------------------------------------------------------------------------ packing
def packed_layout(ray_indices: torch.Tensor, n_rays: int) -> tuple[torch.Tensor, int]:
    """Column of each packed sample in a dense ``[n_rays, K]`` layout (samples sorted by ray):
    ``(col [M], K)`` with ``K`` the largest number of samples of a ray (at least 1)."""
    counts = torch.bincount(ray_indices, minlength=n_rays)
    starts = torch.cumsum(counts, 0) - counts
    col = torch.arange(ray_indices.shape[0], device=ray_indices.device) - starts[ray_indices]
    return col, max(int(counts.max()) if n_rays else 0, 1)


def transmittance_reference(t_starts: torch.Tensor, t_ends: torch.Tensor, sigmas: torch.Tensor,
                            ray_indices: torch.Tensor, n_rays: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Packed transmittance and opacity ``[M]`` (nerfacc's ``render_transmittance_from_density``
    with ``ray_indices``, which needs CUDA): ``T_i = exp(-sum_{j<i} sigma_j delta_j)`` along each ray.
    The exclusive sum runs per ray on a dense padded layout (no float32 drift across rays)."""
    col, k = packed_layout(ray_indices, n_rays)
    sdt = sigmas * (t_ends - t_starts)
    dense = sdt.new_zeros(n_rays, k).index_put((ray_indices, col), sdt)
    excl = torch.cumsum(dense, -1) - dense
    return torch.exp(-excl[ray_indices, col]), 1.0 - torch.exp(-sdt)


def visibility_reference(t_starts: torch.Tensor, t_ends: torch.Tensor, sigmas: torch.Tensor,
                         ray_indices: torch.Tensor, n_rays: int, early_stop_eps: float,
                         alpha_threshold: float | torch.Tensor) -> torch.Tensor:
    """Mask ``[M]`` of the packed samples a ray sees (nerfacc's ``render_visibility_from_density``):
    transmittance ``>= early_stop_eps`` and, where ``alpha_threshold > 0``, opacity ``>= alpha_threshold``
    (a float, or one threshold per sample ``[M]``)."""
    trans, alphas = transmittance_reference(t_starts, t_ends, sigmas, ray_indices, n_rays)
    thr = torch.as_tensor(alpha_threshold, dtype=alphas.dtype, device=alphas.device)
    return (trans >= early_stop_eps) & ((thr <= 0) | (alphas >= thr))


def packed_radiance(arch: NerfArch, theta: torch.Tensor, points: torch.Tensor, nerf_index: torch.Tensor
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    """Colour ``[M, 3]`` and density ``[M]`` at packed points ``[M, 3]`` of ``N`` NeRFs
    (``nerf_index [M]``, sorted): the points are padded into one ``[N, M_max, 3]`` batch for a single
    batched forward pass (:func:`.arch.radiance`) and unpadded."""
    n = theta.shape[0]
    col, m = packed_layout(nerf_index, n)
    pts = points.new_zeros(n, m, 3).index_put((nerf_index, col), points)
    rgb, sigma = radiance(arch, theta, pts)
    return rgb[nerf_index, col], sigma[nerf_index, col]


# ------------------------------------------------------------------------------ marching
def march_reference(binaries: torch.Tensor, aabb: Sequence[float] | torch.Tensor, origins: torch.Tensor,
                    dirs: torch.Tensor, near: torch.Tensor, far: torch.Tensor, step: float
                    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Constant-step ray marching through binary occupancy grids, in plain PyTorch.

    ``binaries [N, G, G, G]`` (bool, one grid per NeRF over the box ``aabb``), rays
    ``origins/dirs [N, R, 3]`` (unit directions), per-ray ``near/far [N, R]``. Steps start at
    ``near``: interval ``[near + k step, near + (k+1) step]`` is kept when its midpoint is inside the
    box, before ``far`` and in an occupied cell (nerfacc's ``traverse_grids`` with ``cone_angle=0``).
    Returns packed ``(ray_indices [M] (global, sorted), t_starts [M], t_ends [M])``.
    """
    n, r = origins.shape[:2]
    res = torch.tensor(binaries.shape[1:], device=origins.device)
    box = torch.as_tensor(aabb, dtype=origins.dtype, device=origins.device)
    t_enter, t_exit, hit = ray_aabb(origins, dirs, box)
    lo = torch.maximum(near, t_enter)
    hi = torch.where(hit, torch.minimum(far, t_exit), lo)
    # first and one-past-last step whose midpoint lies in [lo, hi)
    k0 = torch.ceil((lo - near) / step - 0.5).clamp_min(0)
    k1 = torch.ceil((hi - near) / step - 0.5).clamp_min(0)
    count = (k1 - k0).clamp_min(0).long()
    kmax = int(count.max()) if count.numel() else 0
    empty = origins.new_zeros(0)
    if kmax == 0:
        return torch.zeros(0, dtype=torch.long, device=origins.device), empty, empty
    j = torch.arange(kmax, device=origins.device)
    t_starts = near.unsqueeze(-1) + (k0.unsqueeze(-1) + j) * step                   # [N, R, K]
    mids = t_starts + 0.5 * step
    x = origins.unsqueeze(-2) + dirs.unsqueeze(-2) * mids.unsqueeze(-1)             # [N, R, K, 3]
    cell = ((x - box[:3]) / (box[3:] - box[:3]) * res).floor().long()
    cell = torch.minimum(cell.clamp_min(0), res - 1)
    nerf = torch.arange(n, device=origins.device).view(n, 1, 1).expand_as(t_starts)
    occupied = binaries[nerf, cell[..., 0], cell[..., 1], cell[..., 2]]
    keep = occupied & (j < count.unsqueeze(-1))
    ray = torch.arange(n * r, device=origins.device).view(n, r, 1).expand_as(t_starts)
    ts = t_starts[keep]
    return ray[keep], ts, ts + step


# ---------------------------------------------------------------------- occupancy grids
class OccGrids:
    """One :class:`nerfacc.OccGridEstimator` per NeRF of a batch (see the module doc).

    nerfacc's grid update draws the cells it evaluates, and a point in each, from the global RNG;
    here every update of grid ``i`` at step ``s`` draws from that RNG seeded with
    ``(seeds[i], s)`` and restored afterwards, so a NeRF's grids (hence its samples and its fit) are
    the same in every run and chunking, and the caller's RNG stream is left alone. ``seeds``
    default to ``0..n-1``.
    """

    def __init__(self, arch: NerfArch, n: int, cfg: RenderConfig, device: torch.device,
                 seeds: Sequence[int] | None = None):
        self.arch, self.cfg = arch, cfg
        self.step_size = cfg.step_size(arch)
        self.seeds = list(range(n)) if seeds is None else [int(x) for x in seeds]
        if len(self.seeds) != n:
            raise ValueError(f"OccGrids: {n} grids but {len(self.seeds)} seeds")
        self.estimators = [nerfacc.OccGridEstimator(roi_aabb=list(arch.aabb), resolution=cfg.occ_resolution)
                           .to(device) for _ in range(n)]

    def subset(self, index: Sequence[int]) -> "OccGrids":
        """The grids of some NeRFs of the batch (shared, not copied)."""
        sub = OccGrids.__new__(OccGrids)
        sub.arch, sub.cfg, sub.step_size = self.arch, self.cfg, self.step_size
        sub.seeds = [self.seeds[i] for i in index]
        sub.estimators = [self.estimators[i] for i in index]
        return sub

    @contextmanager
    def _seeded(self, i: int, step: int):
        """The global RNGs of the CPU and of the grids' device seeded for grid ``i`` at ``step``;
        their states are restored on exit."""
        dev = self.estimators[i].binaries.device
        seed = _derive(self.seeds[i], step)
        with torch.random.fork_rng(devices=[dev] if dev.type == "cuda" else []):
            torch.default_generator.manual_seed(seed)
            if dev.type == "cuda":
                with torch.cuda.device(dev):
                    torch.cuda.manual_seed(seed)
            yield

    @property
    def binaries(self) -> torch.Tensor:
        """The NeRFs' binary occupancy ``[N, G, G, G]``."""
        return torch.stack([est.binaries[0] for est in self.estimators])

    def _density_fn(self, theta_i: torch.Tensor):
        def occ_eval_fn(x: torch.Tensor) -> torch.Tensor:
            return radiance(self.arch, theta_i, x.unsqueeze(0))[1][0] * self.step_size
        return occ_eval_fn

    @torch.no_grad()
    def update(self, step: int, theta: torch.Tensor) -> None:
        """EMA update of every grid from its NeRF's density (call once per fitting step; the grids
        change every ``occ_update_every`` steps)."""
        if step % self.cfg.occ_update_every:
            return
        for i, est in enumerate(self.estimators):
            est.train()
            with self._seeded(i, step):
                est.update_every_n_steps(step=step, occ_eval_fn=self._density_fn(theta[i:i + 1].detach()),
                                         occ_thre=self.cfg.occ_threshold, ema_decay=self.cfg.occ_ema_decay,
                                         warmup_steps=self.cfg.occ_warmup_steps, n=self.cfg.occ_update_every)

    @torch.no_grad()
    def refresh(self, theta: torch.Tensor, rounds: int = 2) -> None:
        """Build the grids from scratch for fitted NeRFs (evaluation without a fitting run)."""
        for i, est in enumerate(self.estimators):
            for r in range(rounds):  # step < warmup: every cell is evaluated
                with self._seeded(i, r):
                    est._update(step=r, occ_eval_fn=self._density_fn(theta[i:i + 1].detach()),
                                occ_thre=self.cfg.occ_threshold, ema_decay=self.cfg.occ_ema_decay,
                                warmup_steps=rounds + 1)

    def _alpha_threshold(self, i: int) -> float:
        # nerfacc caps the opacity threshold at the grid's mean occupancy
        return min(self.cfg.alpha_threshold, float(self.estimators[i].occs.mean()))

    @torch.no_grad()
    def sample(self, theta: torch.Tensor, origins: torch.Tensor, dirs: torch.Tensor,
               jitter: torch.Tensor | None = None, *, reference: bool | None = None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Packed visible samples ``(ray_indices, t_starts, t_ends)`` of the rays ``[N, R, 3]`` of the
        ``N`` NeRFs ``theta [N, P]``; ``jitter [N, R]`` in ``[0, 1)`` makes them stratified.
        ``reference``: the pure-PyTorch march (default: on any device but CUDA)."""
        n, r = origins.shape[:2]
        step = self.step_size
        near = torch.full((n, r), float(self.cfg.near), dtype=origins.dtype, device=origins.device)
        if jitter is not None:
            near = near + jitter.to(near) * step
        far = torch.full_like(near, float(self.cfg.far))
        if reference is None:
            reference = not nerfacc_kernels(origins.device)
        if not reference:
            return self._sample_nerfacc(theta, origins, dirs, near)
        ray_idx, ts, te = march_reference(self.binaries, self.arch.aabb, origins, dirs, near, far, step)
        eps, thresholds = self.cfg.early_stop_eps, [self._alpha_threshold(i) for i in range(n)]
        if ts.numel() == 0 or (eps <= 0 and max(thresholds) <= 0):
            return ray_idx, ts, te
        o, d = origins.reshape(-1, 3)[ray_idx], dirs.reshape(-1, 3)[ray_idx]
        _, sigma = packed_radiance(self.arch, theta.detach(), o + d * (0.5 * (ts + te)).unsqueeze(-1), ray_idx // r)
        alpha_thre = torch.tensor(thresholds, device=ts.device)[ray_idx // r]
        vis = visibility_reference(ts, te, sigma, ray_idx, n * r, eps, alpha_thre)
        return ray_idx[vis], ts[vis], te[vis]

    def _sample_nerfacc(self, theta: torch.Tensor, origins: torch.Tensor, dirs: torch.Tensor, near: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r = origins.shape[1]
        packs = []
        for i, est in enumerate(self.estimators):   # one kernel launch per NeRF (each has its own grid)
            o, d, theta_i = origins[i], dirs[i], theta[i:i + 1].detach()

            def sigma_fn(ts: torch.Tensor, te: torch.Tensor, ri: torch.Tensor) -> torch.Tensor:
                x = o[ri] + d[ri] * (0.5 * (ts + te)).unsqueeze(-1)
                return radiance(self.arch, theta_i, x.unsqueeze(0))[1][0]
            ri, ts, te = est.sampling(o, d, sigma_fn=sigma_fn, near_plane=self.cfg.near, far_plane=self.cfg.far,
                                      t_min=near[i], render_step_size=self.step_size, stratified=False,
                                      alpha_thre=self.cfg.alpha_threshold, early_stop_eps=self.cfg.early_stop_eps)
            packs.append((ri.long() + i * r, ts, te))
        return tuple(torch.cat(p) for p in zip(*packs))

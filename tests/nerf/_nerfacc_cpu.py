"""nerfacc's CUDA kernels, emulated on the CPU, so its device-only Python code paths run in tests.

nerfacc 0.5.3 compiles its kernels (``nerfacc.cuda._C``) on first use on CUDA and has none for
the CPU: :meth:`nerfacc.OccGridEstimator.sampling` and packed ``nerfacc.rendering(ray_indices=...)``
cannot run here. :func:`emulate` installs the few kernels those paths call, written from nerfacc's
CUDA sources (``nerfacc/cuda/csrc/grid.cu``, ``scan.cu``), so that everything *around* the
kernels -- nerfacc's Python wrappers and the project's code calling them (argument names, dtypes,
``t_min``, packed layouts, opacity thresholds, gradients through the packed scans) -- runs on the
CPU with the same data flow as on a GPU:

* ``traverse_grids``: a line-by-line port of ``traverse_grids_kernel`` (DDA over the cells, the
  constant-step march in float32, the merged left/right interval edges), one ray at a time;
  independent of the project's vectorised :func:`nf2vec_core.nerf.occgrid.march_reference`, which
  it checks;
* ``ray_aabb_intersect``: the slab test of ``utils_grid.cuh``;
* ``exclusive_sum`` / ``inclusive_sum`` (forward and backward): per-chunk scans;
* ``pack_info``: nerfacc's own code without its ``is_cuda`` gate.

Slow (a Python loop per ray and cell): for a few hundred rays, never for fitting.
"""
from __future__ import annotations

import sys
import types
from dataclasses import dataclass

import numpy as np
import torch

F32 = np.float32


@dataclass
class Segments:
    """The fields of nerfacc's C++ ``RaySegmentsSpec`` that ``RayIntervals/RaySamples._from_cpp`` read."""

    vals: torch.Tensor
    chunk_starts: torch.Tensor
    chunk_cnts: torch.Tensor
    ray_indices: torch.Tensor
    is_left: torch.Tensor | None = None
    is_right: torch.Tensor | None = None
    is_valid: torch.Tensor | None = None


# ----------------------------------------------------------------------------- geometry
def _slab(o: np.ndarray, inv: np.ndarray, lo: np.ndarray, hi: np.ndarray, tmin_ray: float, tmax_ray: float):
    """``device::ray_aabb_intersect`` for one ray and box: ``(hit, tmin, tmax)``, float32."""
    def axis(a):
        if inv[a] >= 0:
            return F32((lo[a] - o[a]) * inv[a]), F32((hi[a] - o[a]) * inv[a])
        return F32((hi[a] - o[a]) * inv[a]), F32((lo[a] - o[a]) * inv[a])
    with np.errstate(invalid="ignore", over="ignore"):
        tmin, tmax = axis(0)
        for a in (1, 2):
            t0, t1 = axis(a)
            if tmin > t1 or t0 > tmax:
                return False, F32(0), F32(0)
            tmin, tmax = max(tmin, t0), min(tmax, t1)
    if tmax <= 0:
        return False, F32(0), F32(0)
    return True, F32(max(tmin, F32(tmin_ray))), F32(min(tmax, F32(tmax_ray)))


def ray_aabb_intersect(rays_o, rays_d, aabbs, near_plane, far_plane, miss_value):
    o, d, boxes = (x.detach().cpu().numpy().astype(F32) for x in (rays_o, rays_d, aabbs))
    n, m = o.shape[0], boxes.shape[0]
    t_mins = np.full((n, m), miss_value, dtype=F32)
    t_maxs = np.full((n, m), miss_value, dtype=F32)
    hits = np.zeros((n, m), dtype=bool)
    with np.errstate(divide="ignore"):
        inv = (F32(1.0) / d).astype(F32)
    for i in range(n):
        for j in range(m):
            hit, t0, t1 = _slab(o[i], inv[i], boxes[j, :3], boxes[j, 3:], near_plane, far_plane)
            if hit:
                t_mins[i, j], t_maxs[i, j], hits[i, j] = t0, t1, True
    dev = rays_o.device
    return torch.from_numpy(t_mins).to(dev), torch.from_numpy(t_maxs).to(dev), torch.from_numpy(hits).to(dev)


# ----------------------------------------------------------------------------- traversal
def _march_to(t_last, dt, target):
    """The kernel's ``while (t_last + dt * 0.5f < target) t_last += dt`` in float32."""
    while F32(t_last + F32(dt * F32(0.5))) < target:
        t_last = F32(t_last + dt)
    return t_last


def _traverse_ray(o, d, binaries, aabbs, t_sorted, t_indices, hits, near, far, step, cone, limit):
    """``traverse_grids_kernel`` for one ray: interval edges ``[(t, is_left, is_right)]`` and sample
    midpoints."""
    n_grids, res = binaries.shape[0], np.array(binaries.shape[1:])
    eps = F32(1e-6)
    with np.errstate(divide="ignore"):
        inv = (F32(1.0) / d).astype(F32)
    edges: list[list] = []
    mids: list[float] = []

    def calc_dt(t):
        return F32(min(max(F32(t * cone), step), F32(1e10)))

    t_last, continuous = F32(near), False
    for i in range(2 * n_grids - 1):
        entering, level = t_indices[i] < n_grids, t_indices[i] % n_grids
        if not hits[level]:
            continue
        if not entering:
            if t_indices[i + 1] < n_grids:
                continue
            level = t_indices[i + 1] % n_grids
            if not hits[level]:
                continue
        this_tmin, this_tmax = F32(max(t_sorted[i], near)), F32(min(t_sorted[i + 1], far))
        if this_tmin >= this_tmax:
            continue
        if not continuous:
            t_last = this_tmin if step <= 0 else _march_to(t_last, calc_dt(t_last), this_tmin)
        lo, hi = aabbs[level, :3], aabbs[level, 3:]
        # setup_traversal
        voxel = ((hi - lo) / res.astype(F32)).astype(F32)
        start = (o + d * F32(this_tmin + eps)).astype(F32)
        end = (o + d * F32(this_tmax - eps)).astype(F32)
        cur = np.clip(((start - lo) / (hi - lo) * res).astype(F32).astype(np.int64), 0, res - 1)
        final = np.clip(((end - lo) / (hi - lo) * res).astype(F32).astype(np.int64), 0, res - 1)
        start_index = cur + (d > 0).astype(np.int64)
        with np.errstate(invalid="ignore", over="ignore"):
            tmax_xyz = ((lo + (start_index.astype(F32) * voxel - start)) * inv + this_tmin).astype(F32)
            sign = np.where(d == 0, 0.0, np.where(d > 0, 1.0, -1.0)).astype(F32)
            delta = np.where(d == 0, this_tmax, voxel * inv * sign).astype(F32)
        tdist = np.where(d == 0, this_tmax, tmax_xyz).astype(F32)
        step_index = sign.astype(np.int64)
        overflow = final + step_index
        while limit <= 0 or len(mids) < limit:
            t_traverse = F32(min(tdist.min(), this_tmax))
            if not binaries[level, cur[0], cur[1], cur[2]]:
                if step > 0:
                    t_last = _march_to(t_last, calc_dt(t_last), t_traverse)
                else:
                    t_last = t_traverse
                continuous = False
            else:
                while limit <= 0 or len(mids) < limit:
                    if step <= 0:
                        t_next = t_traverse
                    else:
                        dt = calc_dt(t_last)
                        if F32(t_last + F32(dt * F32(0.5))) >= t_traverse:
                            break
                        t_next = F32(t_last + dt)
                    if not continuous:
                        edges += [[t_last, True, False], [t_next, False, True]]
                    else:
                        edges[-1][1] = True
                        edges.append([t_next, False, True])
                    mids.append(F32(F32(t_next + t_last) * F32(0.5)))
                    continuous, t_last = True, t_next
                    if t_next >= t_traverse:
                        break
            # single_traversal
            if tdist[0] < tdist[1] and tdist[0] < tdist[2]:
                a = 0
            elif tdist[1] < tdist[2]:
                a = 1
            else:
                a = 2
            cur[a] += step_index[a]
            tdist[a] = F32(tdist[a] + delta[a])
            if cur[a] == overflow[a]:
                break
    return edges, mids, t_last


def traverse_grids(rays_o, rays_d, rays_mask, binaries, aabbs, t_sorted, t_indices, hits, near_planes, far_planes,
                   step_size, cone_angle, compute_intervals, compute_samples, compute_terminate_planes,
                   traverse_steps_limit, over_allocate):
    dev = rays_o.device
    o, d, boxes, ts, tn, fr = (x.detach().cpu().numpy().astype(F32) for x in
                               (rays_o, rays_d, aabbs, t_sorted, near_planes, far_planes))
    bins, ti, hit, mask = (x.detach().cpu().numpy() for x in (binaries, t_indices, hits, rays_mask))
    n = o.shape[0]
    all_edges, all_mids, terms = [], [], np.zeros(n, dtype=F32)
    for r in range(n):
        if not mask[r]:
            all_edges.append([]), all_mids.append([])
            continue
        e, m, terms[r] = _traverse_ray(o[r], d[r], bins, boxes, ts[r], ti[r], hit[r], tn[r], fr[r], F32(step_size),
                                       F32(cone_angle), traverse_steps_limit)
        all_edges.append(e), all_mids.append(m)

    def segments(rows, with_masks):
        cnts = torch.tensor([len(x) for x in rows], dtype=torch.long)
        flat = [x for row in rows for x in row]
        vals = torch.tensor([x[0] if with_masks else x for x in flat], dtype=torch.float32)
        ray = torch.repeat_interleave(torch.arange(n), cnts)
        seg = Segments(vals, torch.cumsum(cnts, 0) - cnts, cnts, ray)
        if with_masks:
            seg.is_left = torch.tensor([bool(x[1]) for x in flat], dtype=torch.bool)
            seg.is_right = torch.tensor([bool(x[2]) for x in flat], dtype=torch.bool)
        else:
            seg.is_valid = torch.ones(len(flat), dtype=torch.bool)
        for k, v in vars(seg).items():
            if v is not None:
                setattr(seg, k, v.to(dev))
        return seg
    return segments(all_edges, True), segments(all_mids, False), torch.from_numpy(terms).to(dev)


# --------------------------------------------------------------------------------- scans
def _chunk_ids(chunk_starts, chunk_cnts, n):
    return torch.repeat_interleave(torch.arange(chunk_cnts.numel(), device=chunk_cnts.device), chunk_cnts,
                                   output_size=n)


def inclusive_sum(chunk_starts, chunk_cnts, inputs, normalize, backward):
    """Per-chunk inclusive scan (``backward``: the reverse scan, its gradient)."""
    assert not normalize
    ids = _chunk_ids(chunk_starts, chunk_cnts, inputs.numel())
    x = inputs.double()
    if backward:                                         # grad_i = sum_{j >= i in chunk} g_j
        total = torch.zeros(chunk_cnts.numel(), dtype=x.dtype, device=x.device).index_add(0, ids, x)
        return (total[ids] - (torch.cumsum(x, 0) - x - _chunk_base(x, ids, chunk_starts))).to(inputs.dtype)
    return (torch.cumsum(x, 0) - _chunk_base(x, ids, chunk_starts)).to(inputs.dtype)


def exclusive_sum(chunk_starts, chunk_cnts, inputs, normalize, backward):
    """Per-chunk exclusive scan (``backward``: the reverse exclusive scan, its gradient)."""
    assert not normalize
    ids = _chunk_ids(chunk_starts, chunk_cnts, inputs.numel())
    x = inputs.double()
    incl = torch.cumsum(x, 0) - _chunk_base(x, ids, chunk_starts)
    if backward:                                         # grad_i = sum_{j > i in chunk} g_j
        total = torch.zeros(chunk_cnts.numel(), dtype=x.dtype, device=x.device).index_add(0, ids, x)
        return (total[ids] - incl).to(inputs.dtype)
    return (incl - x).to(inputs.dtype)


def _chunk_base(x, ids, chunk_starts):
    """Global cumulative sum before each element's chunk."""
    before = torch.cat([x.new_zeros(1), torch.cumsum(x, 0)])
    return before[chunk_starts.long()][ids]


def pack_info(ray_indices: torch.Tensor, n_rays: int | None = None) -> torch.Tensor:
    """nerfacc's ``pack_info`` on any device (its code, without the ``is_cuda`` gate)."""
    if n_rays is None:
        n_rays = int(ray_indices.max()) + 1
    cnts = torch.zeros((n_rays,), device=ray_indices.device, dtype=ray_indices.dtype)
    cnts.index_add_(0, ray_indices, torch.ones_like(ray_indices))
    return torch.stack([cnts.cumsum(0, dtype=ray_indices.dtype) - cnts, cnts], dim=-1)


def emulate(monkeypatch) -> None:
    """Serve nerfacc's kernels from this module for the rest of a test (pytest's ``monkeypatch``),
    and route the project's kernel switch (:func:`nf2vec_core.nerf.occgrid.nerfacc_kernels`) to them."""
    import nerfacc.volrend

    from nf2vec_core.nerf import occgrid
    backend = types.ModuleType("nerfacc.cuda._backend")
    backend._C = types.SimpleNamespace(traverse_grids=traverse_grids, ray_aabb_intersect=ray_aabb_intersect,
                                       exclusive_sum=exclusive_sum, inclusive_sum=inclusive_sum)
    monkeypatch.setitem(sys.modules, "nerfacc.cuda._backend", backend)
    monkeypatch.setattr(nerfacc.volrend, "pack_info", pack_info)
    monkeypatch.setattr(occgrid, "nerfacc_kernels", lambda device: True)

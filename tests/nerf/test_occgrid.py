import math

import pytest
import torch

from nf2vec_core.nerf.arch import NerfArch, init_nerf_batch, radiance
from nf2vec_core.nerf.occgrid import (OccGrids, march_reference, packed_layout, packed_radiance,
                                      transmittance_reference, visibility_reference)
from nf2vec_core.nerf.rays import camera_rays, ray_aabb, sphere_poses
from nf2vec_core.nerf.render import render_rays
from nf2vec_core.nerf.render_config import RenderConfig

AABB = (-1.0, -1.0, -1.0, 1.0, 1.0, 1.0)


def _rays(n, r, seed=0, dtype=torch.float64):
    """Rays from outside and inside the box, some missing it, some pointing away."""
    g = torch.Generator().manual_seed(seed)
    o = (torch.rand(n, r, 3, generator=g, dtype=dtype) * 2 - 1) * 3.0
    o[:, : r // 4] *= 0.2                                    # origins inside the box
    target = (torch.rand(n, r, 3, generator=g, dtype=dtype) * 2 - 1) * 0.8
    d = torch.nn.functional.normalize(target - o, dim=-1)
    d[:, -r // 8:] = -d[:, -r // 8:]                          # some point away
    return o, d


def _scalar_march(binaries, o, d, near, far, step):
    """The kernel's loop for one ray, written out: steps from ``near``, midpoint in [lo, hi) and in
    an occupied cell."""
    t0, t1, hit = ray_aabb(o, d, AABB)
    if not bool(hit):
        return []
    lo, hi = max(float(near), float(t0)), min(float(far), float(t1))
    res = binaries.shape[0]
    out, k = [], 0
    while float(near) + (k + 0.5) * step < hi:
        ts = float(near) + k * step
        mid = ts + 0.5 * step
        if mid >= lo:
            x = o + d * mid
            c = ((x + 1.0) / 2.0 * res).floor().long().clamp(0, res - 1)
            if bool(binaries[c[0], c[1], c[2]]):
                out.append(ts)
        k += 1
    return out


def test_march_reference_matches_the_kernel_loop_ray_by_ray():
    g = torch.Generator().manual_seed(3)
    binaries = torch.rand(2, 6, 6, 6, generator=g) > 0.6
    o, d = _rays(2, 40)
    near = torch.rand(2, 40, generator=g, dtype=torch.float64) * 0.3
    near[:, 5] = 3.5                                          # near plane beyond some boxes
    far = torch.full_like(near, 1e3)
    far[:, 7] = 2.0                                           # a far plane cutting the box
    step = 0.05
    ri, ts, te = march_reference(binaries, AABB, o, d, near, far, step)
    assert torch.all(ri[1:] >= ri[:-1])                       # sorted by ray
    assert torch.allclose(te - ts, torch.full_like(ts, step))
    n_total = 0
    for i in range(2):
        for j in range(40):
            want = _scalar_march(binaries[i], o[i, j], d[i, j], near[i, j], far[i, j], step)
            got = ts[ri == i * 40 + j]
            assert got.shape[0] == len(want), (i, j)
            assert torch.allclose(got, torch.tensor(want, dtype=got.dtype))
            n_total += len(want)
    assert n_total > 200 and ri.shape[0] == n_total


def test_march_reference_of_a_full_grid_is_the_box_and_of_an_empty_grid_nothing():
    o, d = _rays(1, 30, seed=1)
    near, far = torch.zeros(1, 30, dtype=torch.float64), torch.full((1, 30), 1e3, dtype=torch.float64)
    ri, ts, te = march_reference(torch.ones(1, 4, 4, 4, dtype=torch.bool), AABB, o, d, near, far, 0.01)
    t0, t1, hit = ray_aabb(o[0], d[0], AABB)
    length = torch.where(hit, t1 - t0.clamp_min(0), torch.zeros_like(t0))
    covered = torch.zeros(30, dtype=torch.float64).index_add_(0, ri, te - ts)
    assert torch.allclose(covered, length, atol=0.011)         # within one step of the chord
    ri, ts, _ = march_reference(torch.zeros(1, 4, 4, 4, dtype=torch.bool), AABB, o, d, near, far, 0.01)
    assert ri.shape == ts.shape == (0,)


def _packed(seed=0):
    g = torch.Generator().manual_seed(seed)
    counts = torch.tensor([3, 0, 5, 1, 0, 4])
    ri = torch.repeat_interleave(torch.arange(6), counts)
    m = ri.shape[0]
    ts = torch.rand(m, generator=g, dtype=torch.float64) * 0.1 + torch.arange(m, dtype=torch.float64) * 0.2
    te = ts + 0.05 + torch.rand(m, generator=g, dtype=torch.float64) * 0.1
    sig = torch.rand(m, generator=g, dtype=torch.float64) * 8
    return ri, ts, te, sig


def test_packed_layout_and_transmittance_against_a_per_ray_loop():
    ri, ts, te, sig = _packed()
    col, k = packed_layout(ri, 6)
    assert k == 5 and col.tolist() == [0, 1, 2, 0, 1, 2, 3, 4, 0, 0, 1, 2, 3]
    trans, alpha = transmittance_reference(ts, te, sig, ri, 6)
    for r in range(6):
        m = ri == r
        sdt = sig[m] * (te[m] - ts[m])
        want = torch.exp(-(torch.cumsum(sdt, 0) - sdt))
        assert torch.allclose(trans[m], want) and torch.allclose(alpha[m], 1 - torch.exp(-sdt))
    vis = visibility_reference(ts, te, sig, ri, 6, early_stop_eps=0.05, alpha_threshold=0.3)
    assert torch.equal(vis, (trans >= 0.05) & (alpha >= 0.3))


def test_packed_radiance_equals_each_nerfs_own_forward():
    arch = NerfArch(num_freqs=2, hidden=8)
    theta = init_nerf_batch(arch, 3, seed=0, mode="random")
    g = torch.Generator().manual_seed(0)
    idx = torch.tensor([0, 0, 0, 2, 2])                       # NeRF 1 has no points
    x = torch.rand(5, 3, generator=g) * 2 - 1
    rgb, sigma = packed_radiance(arch, theta, x, idx)
    for i in (0, 2):
        r, s = radiance(arch, theta[i:i + 1], x[idx == i].unsqueeze(0))
        assert torch.allclose(rgb[idx == i], r[0], atol=1e-6) and torch.allclose(sigma[idx == i], s[0], atol=1e-5)


def _scene(density_shift=-2.0):
    arch = NerfArch(num_freqs=3, hidden=16, density_shift=density_shift)
    theta = init_nerf_batch(arch, 2, seed=0, mode="random")
    c2w = sphere_poses(2, 3.0)
    o, d = camera_rays(c2w, 12.0, 8, 8)
    return arch, theta, o.reshape(2, -1, 3), d.reshape(2, -1, 3)


def test_grids_skip_only_empty_space():
    arch, theta, o, d = _scene()
    cfg = RenderConfig(estimator="occgrid", occ_resolution=16, occ_step_size=0.02, occ_threshold=0.01,
                       early_stop_eps=0.0)
    grids = OccGrids(arch, 2, cfg, torch.device("cpu"))
    grids.refresh(theta)
    occ = grids.binaries
    assert occ.shape == (2, 16, 16, 16) and occ.dtype == torch.bool
    assert 0.05 < float(occ.float().mean()) < 0.95            # the random NeRFs leave some cells empty
    ri, ts, te = grids.sample(theta, o, d)
    x = o.reshape(-1, 3)[ri] + d.reshape(-1, 3)[ri] * (0.5 * (ts + te)).unsqueeze(-1)
    cell = ((x + 1) / 2 * 16).floor().long().clamp(0, 15)
    assert bool(occ[ri // o.shape[1], cell[:, 0], cell[:, 1], cell[:, 2]].all())
    # every sample in an occupied cell was kept (no transmittance/opacity culling here)
    full = march_reference(occ, arch.aabb, o, d, torch.zeros(2, o.shape[1]), torch.full((2, o.shape[1]), 1e3), 0.02)
    assert ri.shape == full[0].shape


def test_early_stop_drops_occluded_samples_only():
    arch, theta, o, d = _scene(density_shift=1.0)             # dense enough to make rays opaque
    base = RenderConfig(estimator="occgrid", occ_resolution=16, occ_step_size=0.01, occ_threshold=0.0,
                        early_stop_eps=0.0)
    culled = RenderConfig(estimator="occgrid", occ_resolution=16, occ_step_size=0.01, occ_threshold=0.0,
                          early_stop_eps=1e-2)
    grids = OccGrids(arch, 2, base, torch.device("cpu"))
    grids.refresh(theta)
    g2 = grids.subset([0, 1])
    g2.cfg = culled
    a = grids.sample(theta, o, d)
    b = g2.sample(theta, o, d)
    assert b[0].shape[0] < 0.8 * a[0].shape[0]
    out_a = render_rays(arch, theta, o, d, base, grids=grids)
    out_b = render_rays(arch, theta, o, d, culled, grids=g2)
    assert torch.allclose(out_a.color, out_b.color, atol=2e-2) and torch.allclose(out_a.opacity, out_b.opacity, atol=2e-2)


def test_grid_updates_draw_from_their_own_seeds():
    """nerfacc's update draws cells from the global RNG: each grid's draws are seeded by its own seed
    and the step, so grids do not depend on the RNG state, the chunk, or each other."""
    arch, theta, _, _ = _scene()
    cfg = RenderConfig(estimator="occgrid", occ_resolution=16, occ_warmup_steps=2, occ_update_every=1)

    def run(seeds, index, rng_seed):
        torch.manual_seed(rng_seed)
        grids = OccGrids(arch, len(index), cfg, torch.device("cpu"), seeds=seeds)
        state = torch.get_rng_state()
        for step in range(5):
            grids.update(step, theta[index])
        assert torch.equal(torch.get_rng_state(), state)                 # the caller's stream is untouched
        return grids.estimators[-1].occs.clone()
    a = run([7, 11], [0, 1], rng_seed=0)
    assert torch.equal(a, run([7, 11], [0, 1], rng_seed=123))
    assert torch.equal(a, run([11], [1], rng_seed=5))                     # NeRF 1 alone, same seed
    assert not torch.equal(a, run([7, 12], [0, 1], rng_seed=0))


def test_stratified_sampling_is_the_callers_jitter():
    arch, theta, o, d = _scene()
    cfg = RenderConfig(estimator="occgrid", occ_resolution=8, occ_step_size=0.05, occ_threshold=0.0, early_stop_eps=0.0)
    grids = OccGrids(arch, 2, cfg, torch.device("cpu"))
    grids.refresh(theta)
    jitter = torch.rand(2, o.shape[1], generator=torch.Generator().manual_seed(0))
    a, b = grids.sample(theta, o, d, jitter), grids.sample(theta, o, d, jitter)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    plain = grids.sample(theta, o, d)
    assert not torch.equal(a[1][:50], plain[1][:50])
    # sample starts sit on each ray's jittered lattice near + (k + u) * step
    u = jitter.reshape(-1)[a[0]]
    k = a[1] / 0.05 - u
    assert torch.allclose(k, k.round(), atol=1e-3)


def test_nerfacc_sampling_marches_like_the_reference(kernel_device):
    """:meth:`nerfacc.OccGridEstimator.sampling` (its kernel on CUDA, or the kernel's port on the CPU,
    :mod:`_nerfacc_cpu`) and the vectorised reference march give the same packed samples, with and
    without the transmittance/opacity culling."""
    dev = kernel_device
    arch, theta, o, d = _scene()
    theta, o, d = theta.to(dev), o.to(dev), d.to(dev)
    for eps, alpha in [(0.0, 0.0), (1e-4, 0.01)]:
        cfg = RenderConfig(estimator="occgrid", occ_resolution=32, occ_step_size=2 * math.sqrt(3) / 256,
                           occ_threshold=0.01, early_stop_eps=eps, alpha_threshold=alpha)
        grids = OccGrids(arch, 2, cfg, dev)
        grids.refresh(theta)
        assert 0.0 < float(grids.binaries.float().mean()) < 1.0
        jitter = torch.rand(2, o.shape[1], generator=torch.Generator().manual_seed(0)).to(dev)
        k_ri, k_ts, k_te = grids.sample(theta, o, d, jitter)                 # default: the nerfacc path
        r_ri, r_ts, _ = grids.sample(theta, o, d, jitter, reference=True)
        assert k_ri.dtype == torch.long and k_ts.device.type == dev.type and k_ri.shape[0] > 1000
        assert torch.all(k_ri[1:] >= k_ri[:-1])
        # the kernel accumulates the step in float32: a sample on a cell border may flip
        assert abs(k_ri.shape[0] - r_ri.shape[0]) <= max(3, 0.005 * r_ri.shape[0]), (k_ri.shape, r_ri.shape)
        kc = torch.bincount(k_ri, minlength=2 * o.shape[1])
        rc = torch.bincount(r_ri, minlength=2 * o.shape[1])
        assert int((kc - rc).abs().max()) <= 2
        if torch.equal(kc, rc):
            assert torch.allclose(k_ts, r_ts, atol=1e-4)
        assert torch.allclose(k_te - k_ts, torch.full_like(k_ts, cfg.occ_step_size), atol=1e-5)


def test_nerfacc_traversal_of_random_grids_matches_the_reference(kernel_device):
    """nerfacc's ``traverse_grids`` against :func:`march_reference` ray by ray, on random grids with
    rays starting inside and outside the box, missing it, pointing away, and cut by near/far planes."""
    import nerfacc.grid

    dev = kernel_device
    g = torch.Generator().manual_seed(5)
    binaries = (torch.rand(1, 12, 12, 12, generator=g) > 0.7).to(dev)
    o, d = (x.float().to(dev) for x in _rays(1, 160, seed=4))
    near = (torch.rand(1, 160, generator=g) * 0.3).to(dev)
    near[:, 5] = 3.5
    far = torch.full_like(near, 1e3)
    far[:, 7] = 2.0
    step = 0.013
    intervals, samples, _ = nerfacc.grid.traverse_grids(o[0], d[0], binaries, torch.tensor([AABB], device=dev),
                                                        near_planes=near[0], far_planes=far[0], step_size=step)
    k_ts, k_te = intervals.vals[intervals.is_left], intervals.vals[intervals.is_right]
    k_ri = samples.ray_indices.long()
    assert torch.allclose(samples.vals, 0.5 * (k_ts + k_te), atol=1e-5)
    r_ri, r_ts, _ = march_reference(binaries, AABB, o, d, near, far, step)
    kc, rc = torch.bincount(k_ri, minlength=160), torch.bincount(r_ri, minlength=160)
    assert int(rc.sum()) > 2000 and int((rc == 0).sum()) > 10                # samples, and rays with none
    assert int((kc - rc).abs().max()) <= 1 and int((kc != rc).sum()) <= 3, (kc - rc).nonzero().tolist()
    assert torch.allclose(k_ts[(kc == rc)[k_ri]], r_ts[(kc == rc)[r_ri]], atol=1e-4)

"""Fitting throughput: the batched engine vs a naive per-NF loop, measured side by side.

Settings (issue "neural datasets at scale"; Papa et al. 2024 measure their JAX library on the same ones):
  * naive-vs-batched: SIREN 3x32, 2,048 points per step, 3-D occupancy (BCE);
  * images: SIREN with two sine layers of width 32, w0 30, Adam 1e-3, all 784 pixels of a 28x28
    image per step, 64..2,048 NFs in flight;
  * occupancy: the same SIREN on 3-D points, 2,048 points per step, 64..2,048 NFs in flight.
Prints NF-steps/s, the speedup, achieved GFLOP/s (matmul FLOPs of forward + backward) and the
fraction of a matmul peak measured here first; for SIREN 3x32 also the rate of the readable eager
fused step (``engine.siren_loss_and_grad``, the "before" figure) and the first-call (compile) time
of the fast step (``fitting.fast_siren``). The last line is one JSON object. Timings on a shared
machine mean little unless nothing else runs (2-thread OpenMP collapses under CPU contention).

    python bench/fit_throughput.py [--quick] [--device cuda]
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nf2vec_core.fields.pixels import image_coords  # noqa: E402
from nf2vec_core.fitting import engine, fast_siren  # noqa: E402
from nf2vec_core.fitting.engine import FitConfig, FitTargets, fit_chunk  # noqa: E402
from nf2vec_core.nf.init import init_batch  # noqa: E402
from nf2vec_core.nf.layout import ArchSpec  # noqa: E402
from nf2vec_core.runtime import pick_device, tune_allocator  # noqa: E402


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_peak(device: torch.device, n: int = 2048) -> float:
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(3):
        a @ b
    sync(device)
    reps = 10 if device.type == "cpu" else 100
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return 2 * n ** 3 * reps / (time.perf_counter() - t) / 1e9


def flops_per_nf_step(spec: ArchSpec, points: int) -> float:
    """Matmul FLOPs of forward + backward (grad wrt weights and inputs) per NF per step."""
    return 3 * spec.flops_per_point() * points


class Sine(torch.nn.Module):
    def __init__(self, w0: float):
        super().__init__()
        self.w0 = w0

    def forward(self, x):
        return torch.sin(self.w0 * x)


def naive_model(spec: ArchSpec, theta: torch.Tensor) -> torch.nn.Module:
    """An ordinary nn.Module SIREN holding the same initial weights as ``theta``."""
    layers = []
    for name, fan_in, fan_out in spec.linear_layers():
        lin = torch.nn.Linear(fan_in, fan_out)
        with torch.no_grad():
            lin.weight.copy_(theta[spec.tensor(f"{name}.weight").offset:spec.tensor(f"{name}.weight").stop].view(fan_out, fan_in))
            lin.bias.copy_(theta[spec.tensor(f"{name}.bias").offset:spec.tensor(f"{name}.bias").stop])
        layers.append(lin)
        if name != "out":
            layers.append(Sine(spec.w0_first if name == "l0" else spec.w0))
    return torch.nn.Sequential(*layers)


def naive_rate(spec, targets: FitTargets, steps: int, points: int, device) -> float:
    """NF-steps/s of the sequential loop: one nn.Module and one torch.optim.Adam per NF.

    NF 0 is fitted once first, untimed, as a warm-up (first-call allocations, Adam's lazy state,
    thread-pool start), so short runs are not dominated by it.
    """
    n = targets.values.shape[0]
    theta0 = init_batch(spec, n, mode="shared", seed=0)
    gen = torch.Generator().manual_seed(0)

    def fit_one(i: int) -> None:
        model = naive_model(spec, theta0[i]).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        for _ in range(steps):
            idx = torch.randint(targets.values.shape[1], (points,), generator=gen).to(device)
            x, y = targets.coords[i, idx], targets.values[i, idx]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    fit_one(0)  # warm-up, not timed
    sync(device)
    t = time.perf_counter()
    for i in range(n):
        fit_one(i)
    sync(device)
    return n * steps / (time.perf_counter() - t)


def batched_rate(spec, targets: FitTargets, cfg: FitConfig, device, *, reference: bool = False) -> float:
    """NF-steps/s of :func:`fit_chunk` over all NFs, chunk by chunk (after an untimed warm-up).

    ``reference=True`` runs the fused backend with the readable eager step
    (``engine.siren_loss_and_grad``) instead of the fast one (the "before" figure).
    """
    fast_step = engine.fast_siren_loss_and_grad
    if reference:
        engine.fast_siren_loss_and_grad = engine.siren_loss_and_grad
    try:
        return _batched_rate(spec, targets, cfg, device)
    finally:
        engine.fast_siren_loss_and_grad = fast_step


def _batched_rate(spec, targets: FitTargets, cfg: FitConfig, device) -> float:
    n = targets.values.shape[0]
    theta0 = init_batch(spec, n, mode="shared", seed=0).to(device)
    fit_chunk(spec, theta0[: cfg.chunk_size], _slice(targets, 0, cfg.chunk_size),
              FitConfig(**{**cfg.__dict__, "steps": 2}))  # warm-up (compiles the fast kernels)
    sync(device)
    t = time.perf_counter()
    for a in range(0, n, cfg.chunk_size):
        fit_chunk(spec, theta0[a:a + cfg.chunk_size], _slice(targets, a, a + cfg.chunk_size), cfg)
    sync(device)
    return n * cfg.steps / (time.perf_counter() - t)


def _slice(t: FitTargets, a: int, b: int) -> FitTargets:
    return FitTargets(t.coords if t.shared_coords else t.coords[a:b], t.values[a:b])


def occupancy_targets(n: int, pool: int, device, gen) -> FitTargets:
    x = torch.rand(n, pool, 3, generator=gen) * 2 - 1
    r = 0.3 + 0.4 * torch.rand(n, 1, generator=gen)
    y = (x.norm(dim=-1) < r).float().unsqueeze(-1)       # spheres of random radii
    return FitTargets(x.to(device), y.to(device))


def image_targets(n: int, device, gen) -> FitTargets:
    imgs = torch.rand(n, 784, 1, generator=gen)
    return FitTargets(image_coords(28, 28).to(device), imgs.to(device))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    ap.add_argument("--quick", action="store_true", help="fewer NFs and steps (smoke test)")
    ap.add_argument("--chunk", type=int, default=0, help="NFs per chunk (0: 16 on CPU, 2048 on GPU)")
    args = ap.parse_args()
    tune_allocator()
    device = pick_device(args.device)
    chunk = args.chunk or (16 if device.type == "cpu" else 2048)
    gen = torch.Generator().manual_seed(0)
    peak = matmul_peak(device)
    print(f"device {device} ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads), "
          f"torch {torch.__version__}; matmul peak {peak:.1f} GFLOP/s")
    res: dict = {"device": str(device), "threads": torch.get_num_threads(), "matmul_peak_gflops": round(peak, 1)}

    # 0. first-call cost of the fast fused step (torch.compile of its kernels; cached on disk after)
    spec0 = ArchSpec("siren", in_dim=3, out_dim=1, hidden=32, depth=3)
    th0 = init_batch(spec0, 2, mode="shared", seed=0).to(device)
    t = time.perf_counter()
    fit_chunk(spec0, th0, FitTargets(torch.rand(64, 3, device=device), torch.rand(2, 64, 1, device=device)),
              FitConfig(steps=1, points_per_step=0, loss="bce"))
    sync(device)
    first = time.perf_counter() - t
    kernels = "compiled" if fast_siren.kernels_for(th0).compiled else "eager"
    print(f"fast fused step: {kernels} kernels, first call {first:.1f} s (compile; later calls reuse it)")
    res["fast_step"] = {"kernels": kernels, "first_call_s": round(first, 2)}

    # 1. naive loop vs batched engine, SIREN 3x32, 2048 points per step
    spec3 = ArchSpec("siren", in_dim=3, out_dim=1, hidden=32, depth=3)
    steps = 10 if args.quick else 50
    n_naive = 4 if args.quick else 16
    n_batched = 64 if args.quick else 256
    t_occ = occupancy_targets(n_batched, 8192, device, gen)
    naive = naive_rate(spec3, _slice(t_occ, 0, n_naive), steps, 2048, device)
    cfg = FitConfig(steps=steps, points_per_step=2048, chunk_size=chunk, loss="bce")
    reference = batched_rate(spec3, t_occ, cfg, device, reference=True)
    batched = batched_rate(spec3, t_occ, cfg, device)
    f3 = flops_per_nf_step(spec3, 2048)
    print(f"SIREN 3x32, 2048 pts/step: naive {naive:8.1f} NF-steps/s | batched {batched:8.1f} NF-steps/s | "
          f"speedup {batched / naive:5.2f}x | batched {batched * f3 / 1e9:.1f} GFLOP/s "
          f"({100 * batched * f3 / 1e9 / peak:.0f}% of peak)\n"
          f"  reference (eager fused step, before): {reference:8.1f} NF-steps/s ({reference / naive:4.2f}x naive)")
    res["siren3x32"] = {"naive_nf_steps_per_s": round(naive, 1), "batched_nf_steps_per_s": round(batched, 1),
                        "speedup": round(batched / naive, 2), "batched_gflops": round(batched * f3 / 1e9, 2),
                        "reference_fused_nf_steps_per_s": round(reference, 1),
                        "reference_speedup": round(reference / naive, 2)}

    # 2./3. the paper-004 settings, SIREN with two sine layers of width 32, across NFs in flight
    spec_img = ArchSpec("siren", in_dim=2, out_dim=1, hidden=32, depth=2)
    spec_occ = ArchSpec("siren", in_dim=3, out_dim=1, hidden=32, depth=2)
    counts = [64, 256] if args.quick else [64, 256, 1024, 2048]
    steps = 5 if args.quick else 20
    for name, spec, pts in (("images_28x28", spec_img, 784), ("occupancy_3d", spec_occ, 2048)):
        res[name] = {}
        f = flops_per_nf_step(spec, pts)
        for n in counts:
            if name == "images_28x28":
                tg, c = image_targets(n, device, gen), FitConfig(steps=steps, points_per_step=0, chunk_size=chunk, loss="mse")
            else:
                tg, c = occupancy_targets(n, 4096, device, gen), FitConfig(steps=steps, points_per_step=2048, chunk_size=chunk, loss="bce")
            rate = batched_rate(spec, tg, c, device)
            res[name][str(n)] = {"nf_steps_per_s": round(rate, 1), "gflops": round(rate * f / 1e9, 2)}
            print(f"{name:13s} {n:5d} NFs in flight: {rate:9.1f} NF-steps/s  {rate * f / 1e9:6.1f} GFLOP/s "
                  f"({100 * rate * f / 1e9 / peak:.0f}% of peak)")
    if device.type == "cuda" and not args.quick:  # time to fit 8,000 MNIST-sized SIRENs (paper: 70k in 17 s on A100)
        tg = image_targets(8000, device, gen)
        c = FitConfig(steps=500, points_per_step=0, chunk_size=8000, loss="mse")
        t = time.perf_counter()
        fit_chunk(spec_img, init_batch(spec_img, 8000, mode="shared", seed=0).to(device), tg, c)
        sync(device)
        res["mnist_8000_fit_seconds_500_steps"] = round(time.perf_counter() - t, 2)
        print(f"8,000 MNIST SIRENs x 500 steps: {res['mnist_8000_fit_seconds_500_steps']} s")
    print(json.dumps(res))


if __name__ == "__main__":
    main()

"""Fit the nf2vec NeRF (frequency encoding + 3x64 ReLU MLP, no view direction) on the Blender
lego scene (100 train views, 200x200) and report the PSNR on the val views and the fitting time.

The scene folder is ``../shared/data/nerf-lego-200`` beside the checkout (``--root`` to change;
the Blender layout of :mod:`nf2vec_core.nerf.blender`). Fitting runs through the same batched
code as the dataset fitting (:func:`nf2vec_core.nerf.fit.fit_nerfs`, a batch of one NeRF). With
``--estimator auto``: on CPU the batched sampler (``samples_per_ray`` intervals inside the scene
box), on CUDA nerfacc's occupancy grid; ``--estimator occgrid`` runs the occupancy-grid path on any
device (on CPU its pure-PyTorch march), ``batched`` the batched sampler on any device. ``--eval-every`` prints the PSNR of a few val views during fitting. The last line
printed is one JSON object (val PSNR over all evaluated views, fitting and evaluation seconds).

    python bench/nerf_lego.py [--steps 3000] [--rays 1024] [--samples 64] [--device cuda]
                              [--estimator occgrid --occ-resolution 128]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nf2vec_core.nerf.arch import NerfArch, init_nerf_batch  # noqa: E402
from nf2vec_core.nerf.blender import read_blender  # noqa: E402
from nf2vec_core.nerf.fit import NerfFitConfig, SceneBatch, evaluate_psnr, fit_nerf_chunk  # noqa: E402
from nf2vec_core.nerf.render_config import RenderConfig  # noqa: E402
from nf2vec_core.runtime import pick_device, tune_allocator  # noqa: E402
from nf2vec_core.store.treefile import save_tree  # noqa: E402

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data" / "nerf-lego-200"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--rays", type=int, default=1024, help="rays per step")
    ap.add_argument("--samples", type=int, default=64, help="samples per ray (batched path)")
    ap.add_argument("--estimator", default="auto", choices=["auto", "batched", "occgrid"])
    ap.add_argument("--occ-resolution", type=int, default=128, help="occupancy grid cells per axis")
    ap.add_argument("--occ-step", type=float, default=0.0, help="marching step (0: box diagonal / 512)")
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--loss", default="l1", choices=["l1", "mse", "smooth_l1"])
    ap.add_argument("--num-freqs", type=int, default=10)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--aabb", type=float, nargs=6, default=[-1.5, -1.5, -1.5, 1.5, 1.5, 1.5])
    ap.add_argument("--downscale", type=int, default=1)
    ap.add_argument("--train-background", default="white", choices=["white", "black", "random"])
    ap.add_argument("--val-views", type=int, default=0, help="evaluate the first K val views (0: all)")
    ap.add_argument("--eval-every", type=int, default=0, help="print the PSNR of 2 val views every N steps")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", type=Path, default=None, help="write the fitted vector (safetensors + JSON arch, no pickle)")
    args = ap.parse_args()
    tune_allocator()  # reuse freed activation buffers (no page faults every step)

    dev = pick_device(args.device)
    train = read_blender(args.root, "train", downscale=args.downscale, background="white")
    val = read_blender(args.root, "val", downscale=args.downscale, background="white",
                       max_views=args.val_views or None)
    arch = NerfArch(kind="mlp", hidden=args.hidden, depth=args.depth, num_freqs=args.num_freqs,
                    aabb=tuple(args.aabb))
    render = RenderConfig(samples_per_ray=args.samples, estimator=args.estimator, occ_resolution=args.occ_resolution,
                          occ_step_size=args.occ_step)
    cfg = NerfFitConfig(steps=args.steps, rays_per_step=args.rays, chunk_size=1, lr=args.lr, loss=args.loss,
                        train_background=args.train_background, seed=args.seed, init_seed=args.seed, render=render)
    theta0 = init_nerf_batch(arch, 1, seed=args.seed).to(dev)
    batch = SceneBatch.stack([train], dev)
    probe = val.select(range(min(2, val.n_views)))
    probe_render = replace(render, estimator="batched")
    print(f"lego: {train.n_views} train / {val.n_views} val views {train.width}x{train.height}, focal "
          f"{train.focal:.1f}px; NeRF {arch.num_params} params; device {dev}; torch threads "
          f"{torch.get_num_threads()}", flush=True)
    t0 = time.perf_counter()
    paused = 0.0

    def on_step(step: int, loss: torch.Tensor, theta: torch.Tensor) -> None:
        nonlocal paused
        if args.eval_every and (step + 1) % args.eval_every == 0:
            tp = time.perf_counter()
            p = float(evaluate_psnr(arch, theta, [probe], probe_render).mean())  # no grids here
            paused += time.perf_counter() - tp
            print(f"step {step + 1}: loss {float(loss.mean()):.4f}, PSNR(2 val views) {p:.2f} dB, "
                  f"{time.perf_counter() - t0 - paused:.0f}s fitting", flush=True)

    theta, loss, grids = fit_nerf_chunk(arch, theta0, batch, cfg, on_step=on_step)
    fit_seconds = time.perf_counter() - t0 - paused
    t1 = time.perf_counter()
    val_psnr = evaluate_psnr(arch, theta, [val], render, grids=grids)
    eval_seconds = time.perf_counter() - t1
    if args.save is not None:
        save_tree(args.save, {"arch": arch.to_json(), "theta": theta.cpu()})
    print(json.dumps({
        "bench": "nerf_lego", "val_psnr": round(float(val_psnr[0]), 3), "val_views": val.n_views,
        "fit_seconds": round(fit_seconds, 1), "eval_seconds": round(eval_seconds, 1),
        "steps": args.steps, "rays_per_step": args.rays, "samples_per_ray": args.samples, "lr": args.lr,
        "estimator": "occgrid" if grids is not None else "batched", "occ_resolution": args.occ_resolution,
        "occupied": round(float(grids.binaries.float().mean()), 4) if grids is not None else None,
        "loss": args.loss, "train_background": args.train_background, "resolution": [train.height, train.width],
        "arch": {k: v for k, v in asdict(arch).items() if k in ("kind", "hidden", "depth", "num_freqs", "aabb")},
        "num_params": arch.num_params, "device": str(dev), "threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "machine": platform.machine(),
        "final_loss": round(float(loss[0]), 5)}))


if __name__ == "__main__":
    main()

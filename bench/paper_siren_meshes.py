"""Zama Ramirez et al. 2024's SIREN (4 hidden layers of 512, 500 steps, 10,000 points per step) on real meshes.

Issue #2's fit-quality bar for the paper's NF: occupancy IoU >= 0.9 on the real ShapeNet chairs
and ModelNet meshes of ``../shared/data/meshes``. Both mesh sets go through the same library path
as the pipeline's ``preprocess`` and ``fit`` stages (readers -> normalisation -> winding-number
signs -> 64^3 occupancy + off-grid points -> batched shared-init fitting), into a scratch folder;
the script prints per-mesh IoU (on the voxel grid and at uniform off-grid points), the fitting
time and NF-steps/s. Its last line is one JSON object.

    python bench/paper_siren_meshes.py [--meshes ../shared/data/meshes] [--limit 0] [--steps 500]

A GPU is picked automatically when present (``--device``); on a 2-core CPU one 4x512 NF takes a
few minutes (~23 TFLOP for 500 steps of 10,000 points).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from nf2vec_core.data.prepare import DatasetParams, prepare_dataset  # noqa: E402
from nf2vec_core.fitting.run import FitParams, NFParams, fit_dataset  # noqa: E402
from nf2vec_core.runtime import pick_device  # noqa: E402

SETS = {"shapenet-chairs": "shapenetcore", "modelnet": "modelnet"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--meshes", default=str(ROOT.parent / "shared" / "data" / "meshes"))
    ap.add_argument("--limit", type=int, default=0, help="meshes per class and set (0 = all)")
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--chunk", type=int, default=4)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", default=None, help="keep the prepared and neural datasets here (default: a temp dir)")
    args = ap.parse_args()
    meshes = Path(args.meshes)
    if not meshes.is_dir():
        sys.exit(f"error: {meshes}: no such folder (the shared mesh samples; pass --meshes)")
    nf = NFParams(family="siren", hidden=args.hidden, depth=args.depth, w0=30.0, w0_first=30.0)
    fit = FitParams(steps=args.steps, lr=args.lr, points_per_step=args.points, chunk_size=args.chunk,
                    shard_size=64, device=args.device)
    rows, seconds, nf_steps = [], 0.0, 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.out or tmp)
        for name, source in SETS.items():
            root = meshes / name
            if not root.is_dir():
                print(f"skip {name}: {root} not found")
                continue
            prep = work / "prepared" / name
            prepare_dataset(DatasetParams(source=source, root=str(root), field="occupancy",
                                          n_per_class=args.limit, resolution=64, n_offgrid=50_000,
                                          n_surface=4096), prep)
            t0 = time.perf_counter()
            summary = fit_dataset(prep, work / "neural" / name, nf, fit)
            seconds += time.perf_counter() - t0
            nf_steps += int(summary["count"]) * args.steps
            index = pd.read_csv(work / "neural" / name / "index.csv")
            for r in index.itertuples():
                rows.append({"set": name, "id": r.id, "iou": float(r.iou), "iou_offgrid": float(r.iou_offgrid)})
                print(f"{name:16s} {r.id:50s} IoU {r.iou:.3f}  off-grid {r.iou_offgrid:.3f}")
    if not rows:
        sys.exit("error: no mesh fitted")
    df = pd.DataFrame(rows)
    out = {"nf": f"siren {args.depth}x{args.hidden}", "steps": args.steps, "points_per_step": args.points,
           "lr": args.lr, "device": str(pick_device(args.device)), "n_meshes": len(df),
           "mean_iou": round(float(df.iou.mean()), 4), "mean_iou_offgrid": round(float(df.iou_offgrid.mean()), 4),
           "min_iou": round(float(df.iou.min()), 4),
           "per_set_iou": {k: round(float(v), 4) for k, v in df.groupby("set").iou.mean().items()},
           "fit_seconds": round(seconds, 1), "nf_steps_per_s": round(nf_steps / max(seconds, 1e-9), 2)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

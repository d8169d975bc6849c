"""Shared vs random initialisation on Neural Digits (Papa et al. 2024 Table 1, Fig. 4), measured side by side.

Fits one SIREN per scikit-learn digit (8x8, all 64 pixels per step) twice, from one shared
initialisation and from a fresh random one per NF, with the same steps/lr/seeds; then trains the
flat-weights MLP and the graph meta-network of ``nf2vec_core.weightspace`` on the same stratified
splits, and reports test accuracy, fit PSNR and pairwise parameter distances for both. The last
line is one JSON object.

    python bench/init_study.py [--steps 300] [--epochs 60] [--models mlp gnn]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nf2vec_core.data.prepare import assign_splits  # noqa: E402
from nf2vec_core.data.readers import load_sklearn_digits  # noqa: E402
from nf2vec_core.fields.pixels import image_coords  # noqa: E402
from nf2vec_core.fitting.engine import FitConfig, FitTargets, evaluate, fit_chunk  # noqa: E402
from nf2vec_core.metrics.image import psnr  # noqa: E402
from nf2vec_core.nf.init import init_batch  # noqa: E402
from nf2vec_core.nf.layout import ArchSpec  # noqa: E402
from nf2vec_core.runtime import tune_allocator  # noqa: E402
from nf2vec_core.weightspace.distances import distance_summary, pairwise_distance_values  # noqa: E402
from nf2vec_core.weightspace.gnn import GNNConfig  # noqa: E402
from nf2vec_core.weightspace.train import TrainConfig, build_classifier, fit_and_evaluate  # noqa: E402


def fit_all(spec: ArchSpec, images: torch.Tensor, mode: str, steps: int, lr: float, chunk: int) -> torch.Tensor:
    coords = image_coords(images.shape[1], images.shape[2])
    values = images.reshape(len(images), -1, 1)
    theta0 = init_batch(spec, len(images), mode=mode, seed=0)
    cfg = FitConfig(steps=steps, lr=lr, points_per_step=0, chunk_size=chunk, loss="mse")
    out = [fit_chunk(spec, theta0[a:a + chunk], FitTargets(coords, values[a:a + chunk]), cfg, seed=a)[0]
           for a in range(0, len(images), chunk)]
    return torch.cat(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--models", nargs="+", default=["mlp", "gnn"])
    ap.add_argument("--chunk", type=int, default=256)
    args = ap.parse_args()
    tune_allocator()
    imgs, labels = load_sklearn_digits()
    images, y = torch.from_numpy(imgs), torch.from_numpy(labels)
    ids = [f"digit_{i:04d}" for i in range(len(y))]
    splits = assign_splits(ids, [str(int(c)) for c in labels], 0.1, 0.2, seed=0)
    rows = {s: torch.tensor([i for i, t in enumerate(splits) if t == s]) for s in ("train", "val", "test")}
    spec = ArchSpec("siren", in_dim=2, out_dim=1, hidden=32, depth=2, w0=30.0, w0_first=30.0)
    gnn = GNNConfig(hidden=32, steps=3, node_mlp_hidden=64, edge_mlp_hidden=64, readout_hidden=64)
    res: dict = {"n": len(y), "spec": "SIREN 2x32 w0 30", "steps": args.steps, "lr": args.lr}
    for mode in ("shared", "random"):
        t = time.perf_counter()
        theta = fit_all(spec, images, mode, args.steps, args.lr, args.chunk)
        fit_s = time.perf_counter() - t
        pred = evaluate(spec, theta, image_coords(8, 8)).reshape(images.shape)
        r = {"fit_seconds": round(fit_s, 1), "psnr": round(float(psnr(pred, images).mean()), 2),
             "param_distance": {k: round(v, 3) for k, v in distance_summary(pairwise_distance_values(theta[:500])).items()}}
        for kind in args.models:
            model = build_classifier(kind, spec, 10, gnn=gnn, seed=0)
            run = fit_and_evaluate(model, (theta[rows["train"]], y[rows["train"]]), (theta[rows["val"]], y[rows["val"]]),
                                   (theta[rows["test"]], y[rows["test"]]), TrainConfig(epochs=args.epochs), progress=False)
            r[f"{kind}_accuracy"] = round(float(run.accuracy), 4)
        res[mode] = r
        print(f"{mode:6s} init: PSNR {r['psnr']:.2f} dB, fit {fit_s:.0f} s, "
              + ", ".join(f"{k} test acc {r[f'{k}_accuracy']:.3f}" for k in args.models)
              + f", median pairwise distance {r['param_distance'].get('median', float('nan'))}", flush=True)
    print(json.dumps(res))


if __name__ == "__main__":
    main()

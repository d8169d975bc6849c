"""Fit the first N items of a prepared dataset with 1 process (all threads) and with W one-thread
processes, side by side; checks the NFs are identical and prints the rates (last line: JSON).

    python bench/fit_workers.py [--prepared data/prepared/shapes] [--n 64] [--workers 2]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from nf2vec_core.config import load_section, read_params  # noqa: E402
from nf2vec_core.fitting.run import FitParams, NFParams, fit_dataset  # noqa: E402
from nf2vec_core.store.neural_dataset import NeuralDataset  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--prepared", default=str(ROOT / "data" / "prepared" / "shapes"))
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    ap.add_argument("--n", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    p = read_params(args.params)
    nf, fit = load_section(p, "nf", NFParams), load_section(p, "fit", FitParams)
    res, params = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for w in (1, args.workers):
            out = Path(tmp) / f"w{w}"
            t0 = time.perf_counter()
            fit_dataset(Path(args.prepared), out, nf, replace(fit, workers=w), rows=list(range(args.n)))
            dt = time.perf_counter() - t0
            res[f"workers_{w}"] = {"seconds": round(dt, 2), "nf_steps_per_s": round(args.n * fit.steps / dt, 1)}
            params[w] = NeuralDataset(out).params()
    same = bool(torch.equal(params[1], params[args.workers]))
    res["speedup"] = round(res["workers_1"]["seconds"] / res[f"workers_{args.workers}"]["seconds"], 2)
    res["identical"] = same
    res["threads"] = torch.get_num_threads()
    print(json.dumps(res))


if __name__ == "__main__":
    main()

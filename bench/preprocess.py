"""Preprocess N procedural shapes three ways, side by side, and check they agree (last line: JSON):

* ``parent``: the shapes built (normalised) serially in this process, then their ground truth in
  worker processes whose BLAS keeps one thread per core (the stop-15 layout);
* ``parent+limit``: the same, the workers limited to one BLAS thread (threadpoolctl);
* ``workers``: shapes and ground truth both built in the workers (``procedural_records``, now).

Also the boundary voxels of the prepared grids: separable boolean passes vs ``max_pool3d``.

    python bench/preprocess.py [--n 128] [--workers 2]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from nf2vec_core import runtime  # noqa: E402
from nf2vec_core.config import load_section, read_params  # noqa: E402
from nf2vec_core.data import prepare as P  # noqa: E402
from nf2vec_core.data import procedural as proc  # noqa: E402
from nf2vec_core.fitting.targets import boundary_voxels  # noqa: E402


def _stop15_item(args: tuple):
    """The stop-15 worker: the shape arrives built."""
    sid, split, shape, p = args
    with mock.patch.object(proc, "make_shape", lambda *a, **k: shape):
        return P._procedural_item((sid, split, shape.class_name, shape.seed, p))


def _no_blas_limit() -> None:
    torch.set_num_threads(1)


def _parent_built(p: P.DatasetParams, limit: bool) -> list:
    seeds = proc.dataset_seeds(p.n_per_class, p.seed, p.classes, p.max_yaw_deg)
    shapes = [proc.make_shape(c, s, p.max_yaw_deg) for c, s in seeds]
    ids = [f"{c}_{i:04d}" for i, (c, _) in enumerate(seeds)]
    splits = P.assign_splits(ids, [c for c, _ in seeds], p.split.val, p.split.test, p.seed)
    jobs = [(sid, split, shape, p) for sid, split, shape in zip(ids, splits, shapes)]
    if limit:
        return runtime.parallel_map(_stop15_item, jobs, p.workers, desc="parent+limit")
    with mock.patch.object(runtime, "_single_thread", _no_blas_limit):
        return runtime.parallel_map(_stop15_item, jobs, p.workers, desc="parent")


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        x.id == y.id and x.fields.keys() == y.fields.keys()
        and all(np.array_equal(x.fields[k], y.fields[k]) for k in x.fields) for x, y in zip(a, b))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    ap.add_argument("--n", type=int, default=128, help="shapes (rounded down to a multiple of the classes)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    p = load_section(read_params(args.params), "datasets.shapes", P.DatasetParams)
    p = replace(p, n_per_class=max(1, args.n // len(proc.CLASSES)), workers=args.workers)
    res, out = {}, {}
    for name, fn in (("parent", lambda: _parent_built(p, False)), ("parent+limit", lambda: _parent_built(p, True)),
                     ("workers", lambda: P.procedural_records(p)[0])):
        t0 = time.perf_counter()
        out[name] = fn()
        res[f"{name}_s"] = round(time.perf_counter() - t0, 2)
    n = len(out["workers"])
    vox = torch.from_numpy(np.stack([r.fields["voxels"] for r in out["workers"]]))
    t0 = time.perf_counter()
    sep = boundary_voxels(vox)
    res["boundary_separable_s"] = round(time.perf_counter() - t0, 3)
    t0 = time.perf_counter()
    v = vox.float().unsqueeze(1)
    ref = (torch.nn.functional.max_pool3d(v, 3, 1, 1) != -torch.nn.functional.max_pool3d(-v, 3, 1, 1)).squeeze(1)
    res["boundary_max_pool3d_s"] = round(time.perf_counter() - t0, 3)
    res.update(shapes=n, workers=args.workers,
               identical=_same(out["parent"], out["workers"]) and _same(out["parent+limit"], out["workers"]),
               boundary_identical=bool(torch.equal(sep, ref)),
               speedup_vs_parent=round(res["parent_s"] / res["workers_s"], 2),
               boundary_speedup=round(res["boundary_max_pool3d_s"] / max(res["boundary_separable_s"], 1e-9), 1))
    for k, v in res.items():
        print(f"{k}: {v}")
    print(json.dumps(res))


if __name__ == "__main__":
    main()

"""Evaluating many fields on a dense grid: point chunks sized to the cache vs 65,536-point chunks.

The fit stage scores every NF on its 64^3 voxel grid (262,144 points) and the reconstruct stage
decodes 64^3 grids; both are memory-bound on CPU when a call's activations (fields x points x
width floats) leave the cache. Measured side by side in one run, for 16 SIRENs 3x32 (the default
NF) and the default nf2vec decoder (4 layers of 128, 16 embeddings), at several chunk sizes and at
:func:`nf2vec_core.runtime.eval_chunk`'s default; checks the outputs are bit-identical. The last
line is one JSON object. ``--no-tune`` leaves glibc's allocator as it is (the stages call
:func:`nf2vec_core.runtime.tune_allocator`, which keeps large freed blocks for reuse).

    python bench/eval_chunk.py [--fields 16] [--resolution 64] [--no-tune]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from nf2vec_core.decoders.implicit import ImplicitDecoder, ImplicitDecoderConfig  # noqa: E402
from nf2vec_core.decoders.reconstruct import decoder_field_fn, field_grid, nf_field_fn  # noqa: E402
from nf2vec_core.nf.init import init_batch  # noqa: E402
from nf2vec_core.nf.layout import ArchSpec  # noqa: E402
from nf2vec_core.runtime import eval_chunk, tune_allocator  # noqa: E402


def timed(fn, repeats: int = 2) -> tuple[float, torch.Tensor]:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        out = fn()
    return (time.perf_counter() - t0) / repeats, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fields", type=int, default=16)
    ap.add_argument("--resolution", type=int, default=64)
    ap.add_argument("--no-tune", action="store_true")
    args = ap.parse_args()
    if not args.no_tune:
        tune_allocator()
    torch.manual_seed(0)
    n, r = args.fields, args.resolution
    spec = ArchSpec(family="siren", depth=3, hidden=32, w0=10.0, w0_first=30.0)
    theta = init_batch(spec, n, mode="shared", seed=0) + 0.01 * torch.randn(n, spec.num_params)
    dec = ImplicitDecoder(512, cfg=ImplicitDecoderConfig(hidden=128, layers=4, pe_freqs=6)).eval()
    emb = torch.randn(n, 512)
    fields = {"siren_3x32": nf_field_fn(spec, theta, "occupancy"),
              "decoder_4x128": decoder_field_fn(dec, emb, "occupancy")}
    default = eval_chunk(n)
    result = {"fields": n, "resolution": r, "default_chunk": default, "threads": torch.get_num_threads()}
    for name, fn in fields.items():
        times, ref = {}, None
        for chunk in (65536, 8192, default):
            dt, out = timed(lambda c=chunk: field_grid(fn, n, r, chunk=c))
            ref = out if ref is None else ref
            assert torch.equal(out, ref), f"{name}: chunk {chunk} changed the output"
            times[chunk] = dt
            print(f"{name:14s} chunk {chunk:6d}: {dt:6.2f} s for {n} fields x {r}^3 points "
                  f"({dt / n * 1000:.0f} ms per field)")
        speedup = times[65536] / times[default]
        print(f"{name:14s} default chunk {default} is {speedup:.1f}x faster than 65,536 (outputs identical)")
        result[name] = {"seconds": {str(k): round(v, 3) for k, v in times.items()}, "speedup": round(speedup, 2)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()

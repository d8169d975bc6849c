"""Throughput of the graph meta-network encoder (nf2vec_core/encoders/gmn.py) at its default sizes
(hidden 128, 4 layers, 1024-d embeddings) on parameter graphs of the MLP NeRF of params.yaml
(nerf.arch: 3x64, 10 frequencies), the tri-plane NeRF of nerf/arch.py's defaults (32^2 x 16 planes,
3x64 sine MLP) and a SIREN 3x32: graphs per second for inference (no grad) and for a training
step's forward + backward.

    python bench/gmn_encoder.py                      # CPU
    python bench/gmn_encoder.py --device cuda --batch 8
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nf2vec_core.encoders.gmn import GMNConfig, GMNEncoder  # noqa: E402
from nf2vec_core.nerf.arch import NerfArch, init_nerf_batch  # noqa: E402
from nf2vec_core.nerf.param_graph import nerf_graph_arch  # noqa: E402
from nf2vec_core.encoders.graph_archs import shape_graph_arch  # noqa: E402
from nf2vec_core.nf.layout import ArchSpec  # noqa: E402
from nf2vec_core.runtime import tune_allocator  # noqa: E402
from nf2vec_core.encoders.param_graph import graph_structure, param_graphs  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, repeats: int, device: torch.device) -> float:
    """Best wall time of ``repeats`` calls after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch", type=int, default=8, help="graphs a forward pass (Ballerini et al. 2025 train with 8)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    tune_allocator()                                 # as the stages do: freed edge-state blocks are reused
    device = torch.device(args.device)
    torch.manual_seed(0)
    enc = GMNEncoder(GMNConfig()).to(device)
    cases = {
        "nerf_mlp": (nerf_graph_arch(NerfArch()), init_nerf_batch(NerfArch(), args.batch, seed=0)),
        "nerf_triplane": (nerf_graph_arch(NerfArch(kind="triplane")),
                          init_nerf_batch(NerfArch(kind="triplane"), args.batch, seed=0)),
        "siren_3x32": (shape_graph_arch(ArchSpec()), torch.randn(args.batch, ArchSpec().num_params) * 0.1),
    }
    result: dict[str, object] = {"device": str(device), "threads": torch.get_num_threads(), "batch": args.batch,
                                 "encoder_params": sum(p.numel() for p in enc.parameters())}
    for name, (ga, theta) in cases.items():
        st = graph_structure(ga)
        graphs = param_graphs(ga, theta.to(device))

        def infer() -> None:
            with torch.no_grad():
                enc(graphs)

        def train_step() -> None:
            enc.zero_grad(set_to_none=True)
            enc(graphs).square().mean().backward()

        result[name] = {"nodes": st.num_nodes, "edges": st.num_edges,
                        "infer_graphs_per_s": round(args.batch / timed(infer, args.repeats, device), 2),
                        "train_graphs_per_s": round(args.batch / timed(train_step, args.repeats, device), 2)}
        print(name, result[name], file=sys.stderr, flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Fit one NF per item of a prepared dataset, from a shared init, into a neural dataset."""
from __future__ import annotations

from pathlib import Path

from _common import ROOT, parser, params, run

from nf2vec_core.config import load_section
from nf2vec_core.fitting.run import FitParams, NFParams, fit_dataset, merge_parts
from nf2vec_core.store.io import write_json


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--part", default="0/1", help="i/k: fit only shards s with s %% k == i (split across machines)")
    ap.add_argument("--out", default=None, help="output dir (default: data/neural/<dataset>)")
    ap.add_argument("--metrics", default=None, help="metrics JSON (default: metrics/fit_<dataset>.json)")
    ap.add_argument("--merge", action="store_true",
                    help="only merge: check all shards (copied from the parts) are present, write the index")
    args = ap.parse_args()
    p = params(args)
    nf = load_section(p, "nf", NFParams)
    fit = load_section(p, "fit", FitParams)
    i, k = (int(v) for v in args.part.split("/"))
    out = Path(args.out or ROOT / "data" / "neural" / args.dataset)
    prepared = ROOT / "data" / "prepared" / args.dataset
    summary = (merge_parts(prepared, out, fit) if args.merge
               else fit_dataset(prepared, out, nf, fit, part=(i, k)))
    if k == 1 or "mean_fit_loss" in summary:
        write_json(args.metrics or ROOT / "metrics" / f"fit_{args.dataset}.json", summary)
    print({k_: v for k_, v in summary.items()})


if __name__ == "__main__":
    run(main)

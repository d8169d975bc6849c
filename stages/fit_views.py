"""Fit more NFs of the same items (the ``views`` section): other point-sampling seeds, same init."""
from __future__ import annotations

from _common import ROOT, parser, params, run

from nf2vec_core.config import load_section
from nf2vec_core.fitting.run import FitParams, NFParams, ViewParams, fit_views
from nf2vec_core.store.io import write_json


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    args = ap.parse_args()
    p = params(args)
    nf, fit = load_section(p, "nf", NFParams), load_section(p, "fit", FitParams)
    views = load_section(p, "views", ViewParams)
    summary = fit_views(ROOT / "data" / "prepared" / args.dataset, ROOT / "data" / "neural_views" / args.dataset,
                        nf, fit, views)
    write_json(ROOT / "metrics" / f"fit_views_{args.dataset}.json", {"count": views.count, **summary})
    print({k: {m: v[m] for m in ("count", "seconds", "mean_iou_offgrid", "mean_psnr_offgrid") if m in v} for k, v in summary.items()})


if __name__ == "__main__":
    run(main)

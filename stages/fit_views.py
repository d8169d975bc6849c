"""Fit more NFs of the same items (the ``views`` section): other point-sampling seeds, same init."""
from __future__ import annotations

from dataclasses import asdict

from _common import PATHS, ROOT, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.fitting.run import FitParams, NFParams, ViewParams, fit_views
from nf2vec_core.store import staging
from nf2vec_core.store.results import write_results


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    args = ap.parse_args()
    p = params(args)
    nf, fit = load_section(p, "nf", NFParams), load_section(p, "fit", FitParams)
    views = load_section(p, "views", ViewParams)
    prepared, out = PATHS.prepared(args.dataset), PATHS.neural_views(args.dataset)
    work = staging.open_work(staging.work_dir(ROOT, "fit_views", args.dataset),
                             staging.fingerprint({"nf": asdict(nf), "fit": asdict(fit), "views": asdict(views)},
                                                 [prepared], [__file__]))
    summary = fit_views(prepared, work / "out", nf, fit, views)   # resumable: shards kept in the work dir
    staging.publish_dir(work / "out", out)
    staging.close_work(work)
    write_results(PATHS.metrics("fit_views", args.dataset), {"count": views.count, **summary})
    print({k: {m: v[m] for m in ("count", "seconds", "mean_iou_offgrid", "mean_psnr_offgrid") if m in v} for k, v in summary.items()})


if __name__ == "__main__":
    run(main)

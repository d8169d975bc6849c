"""Fit one NF per item of a prepared dataset, from a shared init, into a neural dataset."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from _common import PATHS, ROOT, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.fitting.run import FitParams, NFParams, fit_dataset, merge_parts, parse_part
from nf2vec_core.store import staging
from nf2vec_core.store.results import write_results


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--part", default="0/1", help="i/k: fit only shards s with s %% k == i (split across machines)")
    ap.add_argument("--out", default=None, help="output dir (default: data/neural/<dataset>)")
    ap.add_argument("--metrics", default=None, help="metrics JSON (default: metrics/fit_<dataset>.json); its timings go to the same path "
                    "under timings/")
    ap.add_argument("--prepared", default=None, help="prepared dataset dir (default: data/prepared/<dataset>)")
    ap.add_argument("--nf-section", default="nf", help="params section of the NF architecture (e.g. arena.nfs.siren)")
    ap.add_argument("--fit-section", default="fit", help="params section of the fitting settings (e.g. arena.fit)")
    ap.add_argument("--init", choices=("shared", "random"), default=None, help="override <fit-section>.init")
    ap.add_argument("--steps", type=int, default=None, help="override <fit-section>.steps")
    ap.add_argument("--merge", action="store_true",
                    help="only merge: check all shards (copied from the parts) are present, write the index")
    args = ap.parse_args()
    p = params(args)
    nf = load_section(p, args.nf_section, NFParams)
    overrides = {k: v for k, v in (("init", args.init), ("steps", args.steps)) if v is not None}
    fit = load_section(p, args.fit_section, FitParams, overrides)
    i, k = parse_part(args.part)
    out = Path(args.out or PATHS.neural(args.dataset))
    prepared = Path(args.prepared or PATHS.prepared(args.dataset))
    if args.merge or k > 1:  # parts of a run split across machines write into --out directly
        summary = (merge_parts(prepared, out, fit) if args.merge
                   else fit_dataset(prepared, out, nf, fit, part=(i, k)))
    else:  # resumable under dvc repro: fitted in a work dir, moved onto the output when complete
        rel = out.resolve().relative_to(ROOT) if out.resolve().is_relative_to(ROOT) else Path(out.name)
        work = staging.open_work(staging.work_dir(ROOT, "fit", str(rel).replace("/", "__")),
                                 staging.fingerprint({"nf": asdict(nf), "fit": asdict(fit)}, [prepared], [__file__]))
        summary = fit_dataset(prepared, work / "out", nf, fit)
        staging.publish_dir(work / "out", out)
        staging.close_work(work)
    if k == 1 or "mean_fit_loss" in summary:
        write_results(args.metrics or PATHS.metrics("fit", args.dataset), summary)
    print({k_: v for k_, v in summary.items()})


if __name__ == "__main__":
    run(main)

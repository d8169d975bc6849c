"""Preprocess one dataset (params: datasets.<name>) into ground-truth fields for fitting."""
from __future__ import annotations

from _common import PATHS, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.data.prepare import DatasetParams, prepare_dataset


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True, help="a key of the datasets section")
    ap.add_argument("--section", default="datasets", help="params section holding the dataset (e.g. arena.datasets)")
    ap.add_argument("--out", default=None, help="output dir (default: data/prepared/<dataset>)")
    args = ap.parse_args()
    cfg = load_section(params(args), f"{args.section}.{args.dataset}", DatasetParams)
    out = args.out or PATHS.prepared(args.dataset)
    meta = prepare_dataset(cfg, out)
    print(f"prepared {meta['count']} items ({meta['rejected']} rejected) -> {out}")


if __name__ == "__main__":
    run(main)

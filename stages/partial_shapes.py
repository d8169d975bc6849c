"""Partial shapes of a prepared dataset for shape completion (params completion.partial): a prepared-data
directory of the same items, splits and field kind (seeded half-space crops or one-sided views)."""
from __future__ import annotations

from _common import PATHS, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.data.partial import PartialParams, partial_dirs, write_partial_dataset


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    args = ap.parse_args()
    p = load_section(params(args), "completion.partial", PartialParams)
    out = partial_dirs(PATHS, args.dataset)[0]
    meta = write_partial_dataset(PATHS.prepared(args.dataset), out, p)
    print(f"partial shapes ({p.mode}) of {meta['count']} items -> {out}")


if __name__ == "__main__":
    run(main)

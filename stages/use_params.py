"""Deep-merge a params overlay (e.g. configs/paper.yaml) into params.yaml (keys must already exist)."""
from __future__ import annotations

import argparse

from _common import ROOT, run

from nf2vec_core.config import apply_overlay, dump_params
from nf2vec_core.store.io import write_text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("overlay")
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    args = ap.parse_args()
    write_text(args.params, dump_params(apply_overlay(args.params, args.overlay)))
    print(f"merged {args.overlay} into {args.params}")


if __name__ == "__main__":
    run(main)

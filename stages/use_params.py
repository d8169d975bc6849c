"""Deep-merge a params overlay (e.g. configs/paper.yaml) into params.yaml (keys must already exist)."""
from __future__ import annotations

import argparse

import yaml
from _common import ROOT, run

from nf2vec_core.config import merge_params, read_params
from nf2vec_core.store.io import write_text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("overlay")
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    args = ap.parse_args()
    merged = merge_params(read_params(args.params), read_params(args.overlay))
    write_text(args.params, yaml.safe_dump(merged, sort_keys=False))
    print(f"merged {args.overlay} into {args.params}")


if __name__ == "__main__":
    run(main)

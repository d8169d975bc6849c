"""Deep-merge a params overlay (e.g. configs/paper.yaml) into params.yaml (keys must already exist)."""
from __future__ import annotations

import argparse

import yaml
from _common import ROOT, run

from nf2vec_core.config import read_params
from nf2vec_core.errors import ConfigError
from nf2vec_core.store.io import write_text


def merge(base: dict, overlay: dict, where: str = "") -> dict:
    out = dict(base)
    for k, v in overlay.items():
        key = f"{where}{k}"
        if k not in base:
            raise ConfigError(f"unknown param '{key}' in overlay")
        out[k] = merge(base[k], v, key + ".") if isinstance(v, dict) and isinstance(base[k], dict) else v
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("overlay")
    ap.add_argument("--params", default=str(ROOT / "params.yaml"))
    args = ap.parse_args()
    merged = merge(read_params(args.params), read_params(args.overlay))
    write_text(args.params, yaml.safe_dump(merged, sort_keys=False))
    print(f"merged {args.overlay} into {args.params}")


if __name__ == "__main__":
    run(main)

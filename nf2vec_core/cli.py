"""Command line: ``nf2vec infer`` (also ``python -m nf2vec_core.cli infer``).

    nf2vec infer --dataset shapes --input /data/ModelNet10 --layout modelnet --out runs/infer-mn10

fits, embeds and classifies a folder the pipeline never saw with the trained models of one
dataset (see :mod:`nf2vec_core.tasks.inference`); nothing is retrained and no DVC output changes.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config import load_section, read_params
from .data.layouts import SCANNERS
from .data.prepare import DatasetParams
from .errors import BadInputError, ConfigError
from .tasks.inference import TrainedDataset, infer_folder


def _infer(args: argparse.Namespace) -> int:
    project = Path(args.project).resolve()
    dataset = load_section(read_params(args.params or project / "params.yaml"), f"datasets.{args.dataset}",
                           DatasetParams)
    out = Path(args.out)
    if out.resolve().is_relative_to(project / "data") or out.resolve().is_relative_to(project / "models"):
        raise ConfigError(f"--out {out}: choose a folder outside the pipeline's data/ and models/")
    summary = infer_folder(args.input, args.layout, dataset, TrainedDataset.of(project, args.dataset), out, k=args.k)
    shown = {k: v for k, v in summary.items() if k not in ("confusion", "per_class_accuracy", "classes")}
    print(json.dumps(shown))
    print(f"predictions: {out / 'predictions.csv'}; metrics: {out / 'metrics.json'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="nf2vec", description="nf2vec command line")
    sub = ap.add_subparsers(dest="command", required=True)
    inf = sub.add_parser("infer", help="predict classes and nearest training neighbours for a new folder")
    inf.add_argument("--dataset", required=True, help="the trained dataset (a key of params.yaml datasets)")
    inf.add_argument("--input", required=True, help="the folder of shapes")
    inf.add_argument("--layout", required=True, choices=sorted(SCANNERS), help="the folder's layout")
    inf.add_argument("--out", required=True, help="output folder (predictions.csv, metrics.json, the fitted NFs)")
    inf.add_argument("--k", type=int, default=5, help="nearest training neighbours per item")
    inf.add_argument("--project", default=".", help="the project root holding params.yaml, data/ and models/")
    inf.add_argument("--params", default=None, help="params file (default: <project>/params.yaml)")
    args = ap.parse_args(argv)
    try:
        return _infer(args)
    except (BadInputError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

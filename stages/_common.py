"""Shared plumbing of the stage scripts: params loading, argument parsing and the project's paths (no logic here)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nf2vec_core.config import read_params  # noqa: E402
from nf2vec_core.errors import BadInputError, ConfigError  # noqa: E402
from nf2vec_core.runtime import tune_allocator  # noqa: E402
from nf2vec_core.store.paths import Layout  # noqa: E402

PATHS = Layout(ROOT)  # where each stage reads and writes (dvc.yaml declares the same paths)


def parser(doc: str | None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0] if doc else None)
    p.add_argument("--params", default=str(ROOT / "params.yaml"), help="params file (default: params.yaml)")
    return p


def params(args: argparse.Namespace) -> dict:
    return read_params(args.params)


def run(main) -> None:
    """Run a stage's main(); user errors (bad input, bad params) exit 2 with one clear line.
    Freed large blocks are kept for reuse (:func:`~nf2vec_core.runtime.tune_allocator`)."""
    tune_allocator()
    try:
        main()
    except (BadInputError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)

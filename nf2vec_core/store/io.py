"""Atomic file writes: every artifact is written to a temporary name and renamed when complete,
so a killed run never leaves a half-written file behind. Checked reads of safetensors shards: a
missing, corrupt or misshapen file raises :class:`~nf2vec_core.errors.BadInputError` naming it."""
from __future__ import annotations

import csv
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

import pandas as pd
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..errors import BadInputError


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: str | Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json(path: str | Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n")


def write_csv(path: str | Path, df: pd.DataFrame) -> Path:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return Path(path)


def read_csv_rows(path: str | Path) -> list[dict[str, str]]:
    """A CSV table as rows of strings; a missing file is a BadInputError naming it."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(path, "table not found (run the stage that writes it)")
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def write_tensors(path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> Path:
    """safetensors (no pickle: a downloaded dataset cannot execute code), written atomically."""
    with atomic_path(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp), metadata=metadata)
    return Path(path)


@contextmanager
def open_tensors(path: str | Path, what: str) -> Iterator[Any]:
    """``safe_open`` (PyTorch) of a safetensors file; a missing file, a corrupt one or a tensor it
    lacks raise BadInputError naming the file and ``what`` it is (e.g. "parameter shard")."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(path, f"{what} missing")
    try:
        with safe_open(str(path), framework="pt") as f:
            yield f
    except SafetensorError as exc:
        raise BadInputError(path, f"corrupt {what} ({exc})") from exc


def check_matrix(path: str | Path, shape: Sequence[int], width: int, rows: int, exact: bool = False) -> None:
    """Raise BadInputError naming ``path`` unless ``shape`` is ``[n, width]`` with ``n >= rows``
    (``n == rows`` when ``exact``): a parameter shard of another architecture or row count."""
    shape = list(shape)
    if len(shape) != 2 or shape[1] != width:
        raise BadInputError(path, f"wrong architecture: parameters of shape {shape}, arch.json says [n, {width}]")
    if shape[0] < rows or (exact and shape[0] != rows):
        raise BadInputError(path, f"wrong row count: the shard holds {shape[0]} rows, index.csv expects "
                                  f"{'' if exact else 'at least '}{rows}")


def _jsonable(o: Any) -> Any:
    if hasattr(o, "item"):
        return o.item()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")

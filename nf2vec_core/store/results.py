"""A stage's results, split into what the run computed and how long it took.

``metrics/<name>.json`` holds what the same commit, params and data reproduce byte for byte on
the same machine (accuracies, losses, counts), so ``dvc metrics diff`` between two runs shows
only real changes. Wall-clock figures (seconds, throughputs, latencies) and the resume count
(``fitted_now``: how many items this process fitted rather than found done) differ between
identical runs; they go to ``timings/<name>.json`` — the same relative path with ``metrics``
replaced by ``timings`` — and readers see both merged (:func:`read_results`).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from .io import write_json

#: keys whose values are wall-clock measurements or depend on where a resumed run restarted
TIMING_KEYS = frozenset({
    "seconds", "fit_seconds", "train_seconds", "seconds_per_nerf", "nf_steps_per_s", "nerfs_per_s_fit",
    "fitted_now", "timing_ms", "speedup_vs_multi_view", "nf2vec_encode_classify_ms", "pointnet_ms",
})


def timings_path(metrics_path: str | Path) -> Path:
    """``.../metrics/a/b.json`` → ``.../timings/a/b.json`` (the last ``metrics`` folder on the path);
    a path without one gets a ``.timings.json`` sibling."""
    path = Path(metrics_path)
    parts = list(path.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "metrics":
            parts[i] = "timings"
            return Path(*parts)
    return path.with_name(f"{path.stem}.timings.json")


def split_timings(record: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(metrics, timings)``: the record without its :data:`TIMING_KEYS` (at any depth) and those
    keys alone, nested as in the record. Empty sub-dicts are dropped from ``timings``."""
    metrics: dict[str, Any] = {}
    timings: dict[str, Any] = {}
    for key, value in record.items():
        if key in TIMING_KEYS:
            timings[key] = value
        elif isinstance(value, Mapping):
            m, t = split_timings(value)
            metrics[key] = m
            if t:
                timings[key] = t
        else:
            metrics[key] = value
    return metrics, timings


def write_results(metrics_path: str | Path, record: Mapping[str, Any]) -> tuple[Path | None, Path | None]:
    """Write the record's metrics to ``metrics_path`` and its timings to :func:`timings_path`, each
    atomically and only when non-empty (a latency benchmark writes timings alone). Returns the
    paths written (``None`` for a part the record lacks)."""
    metrics, timings = split_timings(record)
    return (write_json(metrics_path, metrics) if metrics else None,
            write_json(timings_path(metrics_path), timings) if timings else None)


def read_results(metrics_path: str | Path) -> dict[str, Any]:
    """The metrics at ``metrics_path`` with their timings merged in; either part may be absent
    (``{}`` when both are: a stage not run yet)."""
    path, tpath = Path(metrics_path), timings_path(metrics_path)
    metrics = json.loads(path.read_text()) if path.is_file() else {}
    return _merge(metrics, json.loads(tpath.read_text())) if tpath.is_file() else metrics


def _merge(a: dict[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key, value in b.items():
        out[key] = _merge(out[key], value) if isinstance(value, Mapping) and isinstance(out.get(key), dict) else value
    return out

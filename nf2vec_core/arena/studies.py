"""The Neural Field Arena studies of Papa et al., over the runs of the ``arena`` params section.

A *run* is one neural dataset (dataset × NF architecture × init × fitting steps) plus the
weight-space classifiers trained on it (``stages/weightspace.py``). This module gathers the runs'
metrics into one table and derives from it:

* the shared-vs-random table (Papa et al. Table 1 / supplementary Table 7): mean ± std test accuracy
  over the grid, per dataset and NF, with the percentage gain;
* the leaderboard: dataset × classifier × init × NF → test accuracy, next to the paper's Table 2;
* the per-run quantities the figures plot (NMI vs accuracy, Fig. 5; accuracy vs on-grid PSNR and vs
  the off-grid/on-grid ratio, Figs. 6-7).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..config import load_section, load_value
from ..errors import ConfigError
from ..fitting.run import NFParams
from ..store.results import read_results

CLASSIFIERS = ("gnn", "mlp")

# Papa et al. Table 2 (Neural MNIST, GNN baseline / DWS / Relational Transformer), and the grid means of
# Table 1 (SIREN) and supplementary Table 7 (RFFNet, MFN): shared / random test accuracy.
PAPER_TABLE2 = {"gnn": "96.40 ± 0.11", "dws": "93.51 ± 0.12", "transformer": "95.08 ± 0.95"}
# Table 3: Neural ShapeNet-10 (occupancy-like shape NFs), the closest of its datasets to this project's shapes
PAPER_TABLE3 = {"gnn": "82.96 ± 0.02", "dws": "91.06 ± 0.25", "transformer": "90.31 ± 0.15"}
PAPER_INIT_GRID = {
    ("mnist", "siren"): (0.72, 0.37), ("mnist", "rffnet"): (0.86, 0.20), ("mnist", "mfn"): (0.91, 0.23),
}


@dataclass(frozen=True)
class ArenaRun:
    """One entry of ``arena.runs``: a neural dataset and the classifiers trained on it."""

    name: str
    dataset: str
    nf: str
    init: str
    steps: int
    models: tuple[str, ...]

    @classmethod
    def from_params(cls, name: str, entry: Mapping[str, Any]) -> "ArenaRun":
        missing = [k for k in ("dataset", "nf", "init", "steps", "models") if k not in entry]
        if missing:
            raise ConfigError(f"param 'arena.runs.{name}': missing {missing}")
        if entry["init"] not in ("shared", "random"):
            raise ConfigError(f"param 'arena.runs.{name}.init': expected shared or random, got {entry['init']!r}")
        models = tuple(m.strip() for m in str(entry["models"]).split(",") if m.strip())
        bad = [m for m in models if m not in CLASSIFIERS]
        if bad or not models:
            raise ConfigError(f"param 'arena.runs.{name}.models': expected a comma list of {CLASSIFIERS}, got {entry['models']!r}")
        return cls(name, str(entry["dataset"]), str(entry["nf"]), str(entry["init"]), int(entry["steps"]), models)


def runs_from_params(arena: Mapping[str, Any]) -> list[ArenaRun]:
    """The runs of the ``arena`` params section, each checked against ``arena.datasets``/``arena.nfs``."""
    runs = [ArenaRun.from_params(k, v) for k, v in (arena.get("runs") or {}).items()]
    for r in runs:
        if r.dataset not in (arena.get("datasets") or {}):
            raise ConfigError(f"param 'arena.runs.{r.name}.dataset': {r.dataset!r} is not a key of arena.datasets")
        if r.nf not in (arena.get("nfs") or {}):
            raise ConfigError(f"param 'arena.runs.{r.name}.nf': {r.nf!r} is not a key of arena.nfs")
    return runs


@dataclass(frozen=True)
class ArenaSetup:
    """The run table and NF architectures of the ``arena`` section (:func:`load_arena`)."""

    runs: list[ArenaRun]
    nfs: dict[str, NFParams]


def load_arena(params: Mapping[str, Any]) -> ArenaSetup:
    """The typed accessor of ``arena.runs`` and ``arena.nfs``, tables keyed by the user's names: each
    run checked (:func:`runs_from_params`), each NF loaded as :class:`NFParams`."""
    arena = load_value(dict(params), "arena", dict[str, Any])
    nfs = {name: load_section(dict(params), f"arena.nfs.{name}", NFParams) for name in (arena.get("nfs") or {})}
    return ArenaSetup(runs_from_params(arena), nfs)


def collect_runs(runs: list[ArenaRun], nfs: Mapping[str, NFParams], metrics_dir: Path) -> pd.DataFrame:
    """One row per run: its settings, fit quality/time (``fit_<run>.json``) and classifier results
    (``weightspace_<run>.json``). Runs whose metrics are missing are reported as an error."""
    rows = []
    for r in runs:
        fit = read_results(Path(metrics_dir) / f"fit_{r.name}.json")
        ws = read_results(Path(metrics_dir) / f"weightspace_{r.name}.json")
        if not fit or not ws:
            raise ConfigError(f"arena run {r.name!r}: metrics missing under {metrics_dir} (run its fit/classify stages)")
        nf = nfs[r.nf]
        row: dict[str, Any] = {
            "run": r.name, "dataset": r.dataset, "nf": r.nf, "family": nf.family,
            "hidden": nf.hidden, "depth": nf.depth, "init": r.init, "steps": r.steps,
            "count": fit.get("count"), "psnr": fit.get("mean_psnr"), "psnr_offgrid": fit.get("mean_psnr_offgrid"),
            "psnr_ratio": fit.get("mean_psnr_ratio"), "fit_seconds": fit.get("seconds"),
            "nf_steps_per_s": fit.get("nf_steps_per_s"), "nmi": ws.get("weights_kmeans_nmi"),
            "median_param_distance": (ws.get("param_distance") or {}).get("median"),
            "n_train": ws.get("n_train"), "n_test": ws.get("n_test"),
        }
        for m in CLASSIFIERS:
            res = ws.get(m) or {}
            row[f"{m}_accuracy"] = res.get("accuracy", np.nan)
            row[f"{m}_val_accuracy"] = res.get("best_val_accuracy", np.nan)
            row[f"{m}_train_seconds"] = res.get("train_seconds", np.nan)
        row["best_classifier"] = _chosen_on_validation(row)
        chosen = row["best_classifier"]
        row["best_accuracy"] = row[f"{chosen}_accuracy"] if chosen else np.nan
        row["best_val_accuracy"] = row[f"{chosen}_val_accuracy"] if chosen else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _chosen_on_validation(row: Mapping[str, Any]) -> str | None:
    """The classifier of a run with the highest validation accuracy (the test split is never used
    to choose); None when the run has no classifier result."""
    done = [m for m in CLASSIFIERS if not np.isnan(row[f"{m}_accuracy"])]
    if not done:
        return None
    return max(done, key=lambda m: -np.inf if np.isnan(row[f"{m}_val_accuracy"]) else row[f"{m}_val_accuracy"])


def best_on_validation(table: pd.DataFrame) -> dict[str, float]:
    """Per dataset, the test accuracy of the run (and classifier) with the best validation accuracy."""
    out = {}
    for dataset, g in table.groupby("dataset"):
        val = g["best_val_accuracy"].fillna(-np.inf)
        out[str(dataset)] = float(g.loc[val.idxmax(), "best_accuracy"])
    return out


def init_comparison(table: pd.DataFrame) -> pd.DataFrame:
    """Shared vs random init (Papa et al. Table 1): per dataset and NF family, the mean ± std test
    accuracy of each run's classifier chosen on validation, over the runs where *both* inits were
    fitted with the same NF and steps."""
    key = ["dataset", "nf", "steps"]
    both = table.groupby(key)["init"].transform(lambda s: {"shared", "random"} <= set(s))
    t = table[both]
    out = []
    for (dataset, family), g in t.groupby(["dataset", "family"]):
        sh = g.loc[g.init == "shared", "best_accuracy"].to_numpy(float)
        rd = g.loc[g.init == "random", "best_accuracy"].to_numpy(float)
        paper = PAPER_INIT_GRID.get((dataset, family))
        out.append({"dataset": dataset, "nf": family, "n_settings": len(sh),
                    "shared_mean": sh.mean(), "shared_std": sh.std(), "random_mean": rd.mean(), "random_std": rd.std(),
                    "gain_percent": 100.0 * (sh.mean() - rd.mean()) / max(rd.mean(), 1e-12),
                    "paper_shared": paper[0] if paper else np.nan, "paper_random": paper[1] if paper else np.nan})
    return pd.DataFrame(out)


def leaderboard(table: pd.DataFrame) -> pd.DataFrame:
    """Long table dataset × classifier × init × NF → test accuracy of the run (fitting steps) with the
    best *validation* accuracy, ranked by that validation accuracy within each dataset (the test
    split only scores the chosen rows); carries the settings of the chosen run and its fit/train time."""
    rows = []
    for _, r in table.iterrows():
        for m in CLASSIFIERS:
            acc = r[f"{m}_accuracy"]
            if not np.isnan(acc):
                val = r[f"{m}_val_accuracy"]
                rows.append({"dataset": r.dataset, "classifier": m, "init": r.init, "nf": r.nf,
                             "steps": r.steps, "val_accuracy": -np.inf if np.isnan(val) else val,
                             "accuracy": acc, "psnr": r.psnr, "run": r.run,
                             "fit_seconds": r.fit_seconds, "train_seconds": r[f"{m}_train_seconds"]})
    lb = pd.DataFrame(rows)
    if lb.empty:
        return lb
    best = lb.loc[lb.groupby(["dataset", "classifier", "init", "nf"])["val_accuracy"].idxmax()]
    best = best.assign(val_accuracy=best["val_accuracy"].replace(-np.inf, np.nan))
    return best.sort_values(["dataset", "val_accuracy"], ascending=[True, False]).reset_index(drop=True)


def pipeline_rows(dataset: str, nf: NFParams, metrics_dir: Path) -> pd.DataFrame:
    """Leaderboard rows of a dataset of the default pipeline (``pipeline.datasets``): the weight-space
    classifiers (``weightspace_<d>.json``) and nf2vec's MLP on embeddings (``classify_<d>.json``), with
    the fit quality (``fit_<d>.json``: IoU for shapes, PSNR for images), in a fixed order (nf2vec first,
    then :data:`CLASSIFIERS`), not ranked by test accuracy. Missing metrics are an error."""
    metrics_dir = Path(metrics_dir)
    fit, ws, cls = (read_results(metrics_dir / f"{stem}_{dataset}.json") for stem in ("fit", "weightspace", "classify"))
    if not fit or not ws or not cls:
        raise ConfigError(f"pipeline dataset {dataset!r}: fit/weightspace/classify metrics missing under {metrics_dir}")
    label = f"{nf.family}{nf.depth}x{nf.hidden}"
    quality = {k: fit.get(f"mean_{k}", np.nan) for k in ("iou", "psnr")}
    results = {"nf2vec": cls.get("accuracy", np.nan),
               **{m: (ws.get(m) or {}).get("accuracy", np.nan) for m in CLASSIFIERS}}
    rows = [{"dataset": dataset, "classifier": m, "init": "shared", "nf": label, "accuracy": acc,
             "iou": quality["iou"], "psnr": quality["psnr"], "n_train": cls.get("n_train"), "n_test": cls.get("n_test")}
            for m, acc in results.items() if not np.isnan(acc)]
    return pd.DataFrame(rows).reset_index(drop=True)


def _md_table(df: pd.DataFrame, floatfmt: str = "{:.4g}") -> list[str]:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for _, r in df.iterrows():
        cells = [floatfmt.format(v) if isinstance(v, (float, np.floating)) and not np.isnan(v) else
                 ("—" if isinstance(v, (float, np.floating)) else str(v)) for v in r]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def leaderboard_markdown(lb: pd.DataFrame, init: pd.DataFrame, hardware: str,
                         connectivity: Mapping[str, Any] | None = None,
                         pipeline: pd.DataFrame | None = None) -> str:
    """``reports/leaderboard.md``: the leaderboard, the init table and the paper's figures beside."""
    lines = ["# Neural Field Arena leaderboard", "",
             "Generated by `stages/arena_report.py` from `metrics/arena/*.json` (`make repro-arena`).",
             f"Hardware: {hardware}. Accuracy is on each dataset's held-out test split.", "",
             "## Dataset × classifier × init × NF → test accuracy (fitting steps chosen and rows ranked on "
             "validation)", ""]
    lines += _md_table(lb)
    lines += ["", "Papa et al. Table 2, Neural MNIST (70k, full MNIST splits): GNN baseline "
              f"{PAPER_TABLE2['gnn']}, DWS {PAPER_TABLE2['dws']}, Relational Transformer {PAPER_TABLE2['transformer']}.",
              "", "## Shared vs random initialisation (mean over the steps × width grid)", ""]
    lines += _md_table(init)
    lines += ["", "Papa et al. Table 1 / Table 7 (Neural MNIST, mean over its grid): SIREN 0.72 vs 0.37, "
              "RFFNet 0.86 vs 0.20, MFN 0.91 vs 0.23 (shared vs random)."]
    if pipeline is not None and not pipeline.empty:
        lines += ["", "## Shape datasets of the default pipeline (`make repro`): weight-space classifiers and nf2vec", ""]
        lines += _md_table(pipeline)
        lines += ["", "Papa et al. Table 3, Neural ShapeNet-10: GNN baseline "
                  f"{PAPER_TABLE3['gnn']}, DWS {PAPER_TABLE3['dws']}, Relational Transformer {PAPER_TABLE3['transformer']} "
                  "(%). nf2vec is the encoder of Zama Ramirez et al. with an MLP on its embeddings."]
    if connectivity:
        lines += ["", "## Mode connectivity and weight matching (Zama Ramirez et al. Figs. 24-25, git re-basin)", ""]
        lines += [f"- {k}: {v:.4g}" if isinstance(v, float) else f"- {k}: {v}" for k, v in connectivity.items()]
    return "\n".join(lines) + "\n"


__all__ = ["ArenaSetup", "load_arena", "ArenaRun", "runs_from_params", "collect_runs", "init_comparison", "leaderboard",
           "leaderboard_markdown", "pipeline_rows", "PAPER_TABLE2", "PAPER_TABLE3", "PAPER_INIT_GRID", "CLASSIFIERS"]

"""Neural Field Arena report (paper 004): gather every arena run into one table, the shared-vs-random
table, the leaderboard (reports/leaderboard.md, .csv) and the figures (Figs. 4-7)."""
from __future__ import annotations

import json

from _common import PATHS, params, parser, run

import pandas as pd

from nf2vec_core.arena.studies import (best_on_validation, collect_runs, init_comparison, leaderboard, leaderboard_markdown,
                                       load_arena, pipeline_rows)
from nf2vec_core.arena.study_plots import distance_histograms, run_scatter_plots
from nf2vec_core.config import load_section, load_value
from nf2vec_core.fitting.run import NFParams
from nf2vec_core.runtime import hardware_summary
from nf2vec_core.store.io import write_csv, write_json, write_text


def main() -> None:
    ap = parser(__doc__)
    args = ap.parse_args()
    p = params(args)
    arena = load_arena(p)
    runs = arena.runs
    table = collect_runs(runs, arena.nfs, PATHS.metrics_dir("arena"))
    init = init_comparison(table)
    lb = leaderboard(table)
    conn_path = PATHS.metrics("arena_connectivity")
    conn = json.loads(conn_path.read_text()) if conn_path.is_file() else None
    write_csv(PATHS.reports_dir() / "arena_runs.csv", table)
    nf = load_section(p, "nf", NFParams)
    shapes = pipeline_rows(load_value(p, "pipeline.datasets", list[str])[0], nf, PATHS.metrics_dir())  # `make repro`'s
    write_csv(PATHS.reports_dir() / "leaderboard.csv", pd.concat([lb, shapes], ignore_index=True))
    write_text(PATHS.reports_dir() / "leaderboard.md", leaderboard_markdown(lb, init, hardware_summary(), conn, shapes))
    run_scatter_plots(table, PATHS.plots_dir("arena"))
    distance_histograms(runs, PATHS.arena_neural(), PATHS.plots_dir("arena"))
    summary = {"runs": len(table), "best": best_on_validation(table),
               "init": {f"{r.dataset}/{r.nf}": {"shared": r.shared_mean, "random": r.random_mean, "gain_percent": r.gain_percent}
                        for r in init.itertuples()}}
    write_json(PATHS.metrics("arena_summary"), summary)
    print((PATHS.reports_dir() / "leaderboard.md").read_text())


if __name__ == "__main__":
    run(main)

"""The paths of nf2vec_core/store/paths.py are the ones dvc.yaml declares for each stage."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from nf2vec_core.data.partial import partial_dirs
from nf2vec_core.store.paths import Layout

REPO_ROOT = Path(__file__).resolve().parents[2]
D = "shapes"  # stands for every ${...} of dvc.yaml (the dataset, the run, nerf.data.from_dataset)
P = Layout(Path("."))
PARTIAL, NEURAL_PARTIAL = partial_dirs(P, D)

# stage -> the paths it reads or writes, as the stage scripts take them from the layout
STAGE_PATHS = {
    "preprocess": [P.prepared(D)],
    "fit": [P.prepared(D), P.neural(D), P.metrics("fit", D), P.timings("fit", D)],
    "fit_views": [P.prepared(D), P.neural_views(D), P.metrics("fit_views", D), P.timings("fit_views", D)],
    "train_encoder": [P.prepared(D), P.neural(D), P.neural_views(D), P.encoder(D), P.models(D) / "last.safetensors",
                      P.models(D) / "history.csv", P.metrics("train", D), P.timings("train", D),
                      P.plot("train", D, "csv")],
    "embed": [P.encoder(D), P.neural(D), P.neural_views(D), P.embeddings(D)],
    "classify": [P.embeddings(D), P.classifier(D), P.metrics("classify", D), P.plot("classify", D, "csv"),
                 P.plot("confusion", D)],
    "weightspace": [P.neural(D), P.prepared(D), P.metrics("weightspace", D), P.timings("weightspace", D)],
    "retrieve": [P.embeddings(D), P.metrics("retrieval", D), P.plot("tsne", D)],
    "reconstruct": [P.encoder(D), P.embeddings(D), P.metrics("reconstruct", D), P.plot("reconstruct", D),
                    P.plot("interpolation", D)],
    "shape_generate": [P.prepared(D), P.embeddings(D), P.encoder(D), P.classifier(D),
                       P.metrics("shape_generation", D), P.timings("shape_generation", D),
                       P.plot("shape_generation", D, "csv"), P.plot("shape_generation", D)],
    "baselines": [P.prepared(D), P.neural(D), P.metrics("baselines", D)],
    "timing": [P.prepared(D), P.neural(D), P.encoder(D), P.classifier(D), P.timings("timing", D),
               P.plot("timing", D, "csv"), P.plot("timing", D)],
    "part_seg": [P.prepared(D), P.embeddings(D), P.models(D) / "part_decoder.safetensors", P.metrics("part_seg", D),
                 P.timings("part_seg", D), P.plot("part_seg", D, "csv"), P.plot("part_seg", D)],
    "partial_shapes": [P.prepared(D), PARTIAL],
    "fit_partial": [PARTIAL, NEURAL_PARTIAL, P.metrics("fit_partial", D), P.timings("fit_partial", D)],
    "shape_complete": [P.encoder(D), P.embeddings(D), P.prepared(D), P.neural(D), PARTIAL, NEURAL_PARTIAL,
                       P.metrics("completion", D), P.timings("completion", D), P.plot("completion", D)],
    "field_map": [P.encoder(D), P.embeddings(D), P.prepared(D), P.metrics("field_map", D), P.timings("field_map", D),
                  P.plot("field_map", D)],
    "field_kinds_site": [P.metrics("field_map", D), P.plot("field_map", D), P.metrics("fit", D), P.metrics("classify", D),
                         P.metrics("reconstruct", D), P.plot("reconstruct", D), P.reports_dir() / "field-kinds.html",
                         P.docs_dir() / "results-field-kinds.md"],
    "report": [P.reports_dir() / f"summary_{D}.md"],
    "site": [P.reports_dir() / "index.html", P.docs_dir() / "results.md"],
    "shape_tasks_site": [P.metrics("part_seg", D), P.metrics("shape_generation", D), P.metrics("completion", D),
                         P.plot("part_seg", D, "csv"), P.plot("part_seg", D), P.plot("shape_generation", D),
                         P.plot("completion", D), P.reports_dir() / "shape-tasks.html",
                         P.docs_dir() / "results-shape-tasks.md"],
    "render_views": [P.prepared(D), P.views(D)],
    "fit_nerf": [P.views(D), P.nerfs(D), P.metrics("nerf_fit"), P.timings("nerf_fit")],
    "train_nerf_encoder": [P.nerfs(D), P.views(D), P.nerf_encoder(), P.embeddings("nerf"), P.metrics("nerf_train"),
                           P.timings("nerf_train"), P.plot("nerf_train", ext="csv"), P.plot("nerf_reconstruct"),
                           P.plot("nerf_interpolation")],
    "nerf_tasks": [P.nerf_encoder(), P.embeddings("nerf"), P.nerfs(D), P.classifier("nerf"), P.metrics("nerf_tasks"),
                   P.timings("nerf_tasks"), P.plot("nerf_timing", ext="csv"), P.plot("nerf_confusion"),
                   P.plot("nerf_retrieval")],
    "nerf_generate": [P.nerf_encoder(), P.classifier("nerf"), P.embeddings("nerf"), P.views(D),
                      P.metrics("nerf_generation"), P.timings("nerf_generation"), P.plot("nerf_generation", ext="csv"),
                      P.plot("nerf_generation")],
    "nerf_transfer": [P.nerf_encoder(), P.embeddings("nerf"), P.embeddings(D), P.metrics("nerf_transfer"),
                      P.plot("nerf_transfer")],
    "nerf_site": [P.reports_dir() / "nerf.html", P.docs_dir() / "results-nerf.md"],
    "arena_prepare": [P.arena_prepared(D)],
    "arena_fit": [P.arena_prepared(D), P.arena_neural(D), P.metrics_dir("arena") / f"fit_{D}.json"],
    "arena_classify": [P.arena_neural(D), P.arena_prepared(D), P.metrics_dir("arena") / f"weightspace_{D}.json",
                       P.plots_dir("arena") / D],
    "arena_connectivity": [P.arena_prepared(D), P.metrics("arena_connectivity"),
                           P.plots_dir("arena") / "mode_connectivity.png", P.plots_dir("arena") / "repeatability.png"],
    "arena_report": [P.metrics_dir("arena"), P.metrics("arena_connectivity"), P.arena_neural(),
                     P.metrics("arena_summary"), P.reports_dir() / "leaderboard.md", P.reports_dir() / "leaderboard.csv",
                     P.reports_dir() / "arena_runs.csv"],
    "arena_site": [P.metrics("arena_summary"), P.metrics("arena_connectivity"), P.plots_dir("arena"),
                   P.reports_dir() / "arena.html", P.docs_dir() / "results-arena.md"],
}


def _declared(stage: dict) -> set[str]:
    """Every path a stage declares (deps, outs, metrics, plots), with each ${...} as the sample name."""
    body = stage.get("do", stage)
    out = set()
    for key in ("deps", "outs", "metrics", "plots"):
        for entry in body.get(key) or []:
            path = entry if isinstance(entry, str) else next(iter(entry))
            out.add(re.sub(r"\$\{[^}]+\}", D, path))
    return out


STAGES = yaml.safe_load((REPO_ROOT / "dvc.yaml").read_text())["stages"]


def test_every_stage_is_covered():
    assert sorted(STAGE_PATHS) == sorted(STAGES)


@pytest.mark.parametrize("name", sorted(STAGE_PATHS))
def test_layout_paths_are_declared_in_dvc_yaml(name):
    declared = _declared(STAGES[name])
    missing = sorted(p.as_posix() for p in STAGE_PATHS[name] if p.as_posix() not in declared)
    assert missing == [], f"stage {name}: the layout gives {missing}, dvc.yaml declares {sorted(declared)}"


def test_timings_sit_beside_metrics():
    root = Path("/project")
    assert Layout(root).metrics("fit", "mnist") == root / "metrics" / "fit_mnist.json"
    assert Layout(root).timings("fit", "mnist") == root / "timings" / "fit_mnist.json"
    assert Layout(root).metrics_dir("arena") / "fit_x.json" == root / "metrics" / "arena" / "fit_x.json"

"""The generated summary: this run's figures beside the papers' numbers (``reports/summary_<dataset>.md``).

The papers' figures are on their data (ModelNet40, ShapeNet10, Manifold40, MNIST), splits and sizes;
the summary says what the run's data is (:func:`data_sentence`), so a reader sees how far the
comparison goes. Every number of "this run" is read from ``metrics/*.json`` (timings from
``timings/*.json``) written by the stages.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from nf2vec_core.data.prepare import DatasetParams
from nf2vec_core.store.results import read_results

# The papers, by first author and year (see the README's References).
NF2VEC = "Zama Ramirez et al. 2024"   # Deep Learning on 3D Neural Fields (nf2vec)
PAPA = "Papa et al. 2024"             # How to Train Neural Field Representations
EMBED_ANY_NERF = "Ballerini et al. 2025"  # Embed Any NeRF: Graph Meta-Networks for Arbitrary NeRF Architectures

# (metric file stem, key, label, paper reference figure, where the paper's figure comes from)
PAPER_ROWS: list[tuple[str, str, str, str, str]] = [
    ("fit", "mean_iou", "NF fit: occupancy IoU (on-grid)", "≥ 0.9 (issue bar, SIREN 4×512)", f"{PAPA}, §3.2"),
    ("fit", "mean_iou_offgrid", "NF fit: occupancy IoU (off-grid)", "—", f"{PAPA}, §3.2"),
    ("fit", "mean_iou_ratio", "NF fit: off-grid / on-grid IoU", "≈ 1 when not overfitted", f"{PAPA}, Fig. 7"),
    ("fit", "mean_chamfer", "NF fit: Chamfer to the input cloud (UDF)", "—", "—"),
    ("fit", "mean_udf_mae", "NF fit: UDF mean absolute error (clipped)", "—", "—"),
    ("classify", "accuracy", "nf2vec classification accuracy", "87.0 (ModelNet40), 93.3 (ShapeNet10)", f"{NF2VEC}, Table III"),
    ("weightspace", "gnn_accuracy", "graph meta-network on raw weights (same splits)", "96.4 (MNIST)", f"{PAPA}, Table 2 (GNN)"),
    ("weightspace", "mlp_accuracy", "MLP on flattened raw weights (same splits)", "—", f"{PAPA}, §4"),
    ("weightspace", "weights_kmeans_nmi", "k-means NMI of raw test weights", "—", f"{PAPA}, Fig. 5"),
    ("baselines", "pointnet_accuracy", "PointNet on ground-truth clouds", "88.8 (ModelNet40), 94.3 (ShapeNet10)", f"{NF2VEC}, Table III"),
    ("retrieval", "hit@1", "retrieval 'mAP@1' (hit-rate@1, as the reference code)", "81.7 (ModelNet40), 90.6 (ShapeNet10)", f"{NF2VEC}, Table II"),
    ("retrieval", "hit@5", "retrieval 'mAP@5' (hit-rate@5)", "92.6 / 96.7", f"{NF2VEC}, Table II"),
    ("retrieval", "hit@10", "retrieval 'mAP@10' (hit-rate@10)", "95.1 / 98.1", f"{NF2VEC}, Table II"),
    ("retrieval", "map@1", "retrieval true mAP@1", "—", "—"),
    ("retrieval", "map@5", "retrieval true mAP@5", "—", "—"),
    ("retrieval", "map@10", "retrieval true mAP@10", "—", "—"),
    ("retrieval", "latent_nmi", "k-means NMI of test embeddings", "—", f"{PAPA}, Fig. 5 (on weights)"),
    ("reconstruct", "nf_chamfer", "input NF reconstruction: Chamfer (squared, mean)", "0.26 mm CD (Manifold40, SDF)", f"{NF2VEC}, Table VIII"),
    ("reconstruct", "nf_fscore", "input NF reconstruction: F-score", "69.7 %", f"{NF2VEC}, Table VIII"),
    ("reconstruct", "nf2vec_chamfer", "nf2vec decoder reconstruction: Chamfer", "—", f"{NF2VEC}, Fig. 4"),
    ("reconstruct", "nf2vec_fscore", "nf2vec decoder reconstruction: F-score", "—", f"{NF2VEC}, Fig. 4"),
    ("reconstruct", "nf2vec_iou", "nf2vec decoder reconstruction: voxel IoU", "—", f"{NF2VEC}, Fig. 4"),
    ("reconstruct", "nf2vec_level", "nf2vec decoder iso-level (chosen on validation NFs)", "—", "—"),
    ("reconstruct", "nf2vec_iou_natural", "nf2vec decoder: voxel IoU at the natural level (p = 0.5)", "—", "—"),
    ("timing", "nf2vec_encode_classify_ms", "encode + classify one NF (ms)", "1.03 ms (GPU)", f"{NF2VEC}, Table VII / Fig. 11"),
]


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def value_text(metrics: dict, key: str) -> str:
    """A metric as text; ``mean ± std (n seeds)`` when the file carries ``<key>_std`` and ``seeds``."""
    text = _fmt(metrics[key])
    if f"{key}_std" in metrics:
        text += f" ± {_fmt(metrics[f'{key}_std'])}"
        if metrics.get("seeds"):
            text += f" ({len(metrics['seeds'])} seeds)"
    return text


def load_metrics(metrics_dir: Path, stem: str, dataset: str) -> dict:
    """``metrics/<stem>_<dataset>.json`` with its timings merged in; ``{}`` when the stage has not run."""
    return read_results(Path(metrics_dir) / f"{stem}_{dataset}.json")


def data_sentence(name: str, ds: DatasetParams | None) -> str:
    """What dataset ``name`` is, and how far the papers' figures compare with this run on it."""
    if ds is None:
        return f"Dataset `{name}`: the papers' figures are the bar to approach, not a like-for-like comparison."
    if ds.source == "procedural":
        return (f"Dataset `{name}`: procedural shapes the project generates ({ds.field} fields). The papers' "
                "figures are on other data and at GPU sizes: the bar to approach, not a like-for-like comparison.")
    root = Path(ds.root).name if ds.root else ds.source
    classes = f"{len(ds.classes)} of its classes" if ds.classes else "all its classes"
    carved = (f"validation and test splits carved (stratified, seeded) from its official `{ds.carve_from}` folder"
              if ds.carve_from else "its own splits")
    return (f"Dataset `{name}`: `{root}` ({ds.source}, {classes}, {ds.field} fields), {carved}. The papers' "
            "figures are on the official test split at GPU sizes; this run's test split is internal, its NFs "
            "and encoder at the sizes of params.yaml.")


def summary_markdown(metrics_dir: Path, datasets: list[str],
                     described: Mapping[str, DatasetParams] | None = None) -> str:
    """The summary of ``datasets``; ``described`` gives each dataset's params entry (its data sentence)."""
    lines = ["# nf2vec run summary", "",
             "Generated by `stages/report.py` from `metrics/*.json` and `timings/*.json`.", ""]
    for d in datasets:
        lines += [f"## Dataset `{d}`", "", data_sentence(d, (described or {}).get(d)), "",
                  "| metric | this run | paper | source |", "| --- | --- | --- | --- |"]
        for stem, key, label, paper, src in PAPER_ROWS:
            m = load_metrics(metrics_dir, stem, d)
            if key in m:
                lines.append(f"| {label} | {value_text(m, key)} | {paper} | {src} |")
        fit = load_metrics(metrics_dir, "fit", d)
        train = load_metrics(metrics_dir, "train", d)
        if fit or train:
            lines += ["", f"Fitting: {fit.get('count', '?')} NFs in {fit.get('seconds', '?')} s "
                          f"({fit.get('nf_steps_per_s', '?')} NF-steps/s); encoder training "
                          f"{train.get('seconds', '?')} s (best epoch {train.get('best_epoch', '?')})."]
        lines.append("")
    return "\n".join(lines) + "\n"

"""The page of each pipeline, built from its metrics (``metrics/``) and figures (``plots/``).

Every number is read from the JSON/CSV files the stages wrote; the papers' numbers beside them are
the constants below, each with its table. A figure is listed only when its file exists, and a
table row only when its metric does, so a partial run still gives a page.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from nf2vec_core.report.render import Figure, Link, Page, Section, Table, fmt
from nf2vec_core.store.io import read_csv_rows
from nf2vec_core.store.results import read_results
from nf2vec_core.tasks.report import NF2VEC, PAPA, PAPER_ROWS, load_metrics, value_text

# html page (in reports/), markdown page (in docs/) and label of each pipeline's page
PAGES = {
    "default": ("index.html", "results.md", "Default pipeline (shapes)"),
    "nerf": ("nerf.html", "results-nerf.md", "NeRFs as data"),
    "arena": ("arena.html", "results-arena.md", "Neural Field Arena"),
    "shape_tasks": ("shape-tasks.html", "results-shape-tasks.md", "Shape tasks: parts, generation, completion"),
    "field_kinds": ("field-kinds.html", "results-field-kinds.md", "Field kinds: occupancy, SDF, UDF and mapping"),
}


def links(current: str) -> list[Link]:
    return [Link(label, html, md) for key, (html, md, label) in PAGES.items() if key != current]


def _figures(plots: Path, items: list[tuple[str, str]]) -> list[Figure]:
    return [Figure(caption, plots / name) for name, caption in items if (plots / name).is_file()]


def _rows(metrics: dict[str, dict[str, Any]], stems: set[str], timing: bool = False) -> list[list[str]]:
    """The PAPER_ROWS of these metric files present in ``metrics``: latencies (``*_ms``) or the rest."""
    return [[label, value_text(metrics[stem], key), paper, src] for stem, key, label, paper, src in PAPER_ROWS
            if stem in stems and key in metrics.get(stem, {}) and key.endswith("_ms") == timing]


HEADER = ["metric", "this run", "paper", "source"]


def _num(text: str | None, digits: int = 4) -> str:
    """A number read from a CSV cell, formatted; an empty cell as a dash."""
    return fmt(float(text), digits) if text not in (None, "") else fmt(None)


def default_page(metrics_dir: Path, plots_dir: Path, dataset: str, prov: dict[str, str]) -> Page:
    """The default pipeline (``make repro``) on one dataset of ``pipeline.datasets``."""
    # latencies: timings/timing_<d>.json where a timing stage writes them, else baselines_<d>.json
    stems = ["fit", "fit_views", "train", "classify", "weightspace", "retrieval", "reconstruct", "baselines", "timing"]
    m = {s: load_metrics(metrics_dir, s, dataset) for s in stems}
    fit, views, train, ws = m["fit"], m["fit_views"], m["train"], m["weightspace"]
    view_secs = sum(v.get("seconds", 0.0) for v in views.values() if isinstance(v, dict))
    fit_table = Table(["step", "figure"], [
        ["NFs fitted", fmt(fit.get("count"))],
        ["fitting time (s)", fmt(fit.get("seconds"))],
        ["fitting throughput (NF-steps/s)", fmt(fit.get("nf_steps_per_s"))],
        ["more fits of the training and validation shapes (s)", fmt(view_secs or None)],
        ["encoder training (s)", fmt(train.get("seconds"))],
        ["encoder best epoch / best validation loss", f"{fmt(train.get('best_epoch'))} / {fmt(train.get('best_val_loss'))}"],
        ["graph meta-network training, all seeds (s)", fmt(ws.get("gnn", {}).get("train_seconds"))],
    ])
    classes = sorted(m["classify"].get("per_class_accuracy", {}))
    per_class = Table(["class", "nf2vec", "flat MLP on weights", "graph meta-network"], [
        [c, fmt(m["classify"]["per_class_accuracy"].get(c)),
         fmt(ws.get("mlp", {}).get("per_class_accuracy", {}).get(c)),
         fmt(ws.get("gnn", {}).get("per_class_accuracy", {}).get(c))] for c in classes])
    pointnet_ms = m["timing"].get("pointnet_ms") or m["baselines"].get("pointnet_ms", {})
    timing = Table(HEADER, (_rows(m, {"timing"}, timing=True) or _rows(m, {"baselines"}, timing=True))
                   + [[f"PointNet on {int(k):,} points (ms)", fmt(v), "—", "—"]
                      for k, v in sorted(pointnet_ms.items(), key=lambda kv: int(kv[0]))])
    sections = [
        Section("Neural fields", f"Occupancy SIRENs fitted from one shared initialisation, beside {PAPA}.",
                [Table(HEADER, _rows(m, {"fit"}))]),
        Section("Classification", "Test accuracy of an MLP on nf2vec embeddings, of classifiers on the raw "
                "weights and of PointNet on the ground-truth point clouds, beside the papers (their datasets "
                "are ModelNet40, ShapeNet10 and MNIST: the bar, not a like-for-like comparison).",
                [Table(HEADER, _rows(m, {"classify", "weightspace", "baselines"})), per_class],
                _figures(plots_dir, [(f"confusion_{dataset}.png", "Confusion matrix of the nf2vec classifier (test split)"),
                                     (f"confusion_mlp_{dataset}.png", "Confusion matrix of the flat MLP on raw weights"),
                                     (f"confusion_gnn_{dataset}.png", "Confusion matrix of the graph meta-network on raw weights")])),
        Section("Retrieval and latent space", "Nearest neighbours of each test embedding among the others; "
                "the papers' 'mAP' is the hit-rate of the reference code, reported beside the true mAP.",
                [Table(HEADER, _rows(m, {"retrieval"}))],
                _figures(plots_dir, [(f"tsne_{dataset}.png", "t-SNE of the test embeddings, coloured by class")])),
        Section("Reconstruction and interpolation", "Test NFs decoded from their embeddings by the implicit "
                "decoder, beside the input NFs themselves (64³ grid).",
                [Table(HEADER, _rows(m, {"reconstruct"}))],
                _figures(plots_dir, [(f"reconstruct_{dataset}.png", "Input NFs and their nf2vec reconstructions"),
                                     (f"interpolation_{dataset}.png", "Decoded linear interpolations between two embeddings")])),
        Section("Timing", "Latency per item on this machine; the paper's figure is on a GPU.",
                [timing, fit_table],
                _figures(plots_dir, [(f"timing_{dataset}.png", "Latency of nf2vec against PointNet by point count"),
                                     (f"stage_times_{dataset}.png", "Time of the timed stages")])),
    ]
    return Page(f"nf2vec results: default pipeline, dataset `{dataset}`",
                "`make repro`: embedded procedural shapes fitted as occupancy NFs, the nf2vec encoder, "
                "and the downstream tasks on its embeddings.", prov, sections, links("default"))


def nerf_page(metrics_dir: Path, plots_dir: Path, prov: dict[str, str]) -> Page:
    """NeRFs as data (``make repro-nerf``)."""
    fit, train, tasks = (read_results(metrics_dir / f"nerf_{s}.json") for s in ("fit", "train", "tasks"))
    transfer, gen = read_results(metrics_dir / "nerf_transfer.json"), read_results(metrics_dir / "nerf_generation.json")
    ret, ms = tasks.get("retrieval", {}), tasks.get("timing_ms", {})
    src = f"{NF2VEC}"
    cls = Table(HEADER, [
        ["classification from nf2vec embeddings", fmt(tasks.get("nf2vec_accuracy")), "87.3 %", f"{src}, Table VI"],
        ["render-then-classify CNN, 1 view", fmt(tasks.get("single_view_accuracy")), "—", "—"],
        ["render-then-classify CNN, 9 views (majority vote)", fmt(tasks.get("multi_view_accuracy")), "—", "—"],
        ["retrieval hit-rate@1 / @5 / @10", " / ".join(fmt(ret.get(k)) for k in ("hit@1", "hit@5", "hit@10")),
         "72.4 / 91.9 / 96.0 %", f"{src}, Table V"],
        ["retrieval true mAP@1 / @5 / @10", " / ".join(fmt(ret.get(k)) for k in ("map@1", "map@5", "map@10")), "—", "—"],
    ])
    timing = Table(HEADER, [
        ["nf2vec encode + classify, per NeRF (ms)", fmt(ms.get("nf2vec")), "1.03 (GPU)", f"{src}, Table VII"],
        ["CNN on 1 rendered view (ms)", fmt(ms.get("render-then-classify CNN (single-view)")), "10.84 (GPU)", f"{src}, Table VII"],
        ["CNN on 9 rendered views (ms)", fmt(ms.get("render-then-classify CNN (multi-view)")), "97.56 (GPU)", f"{src}, Table VII"],
        ["speed-up over the 9-view CNN", fmt(tasks.get("speedup_vs_multi_view"), 3), "≈ 95×", f"{src}, Table VII"],
        ["NeRF fitting, all NeRFs (s)", fmt(fit.get("fit_seconds")), "—", "—"],
        ["NeRF fitting, per NeRF (s)", fmt(fit.get("seconds_per_nerf")), "—", "—"],
        ["encoder training (s)", fmt(train.get("seconds")), "—", "—"],
        ["latent GAN training (s)", fmt(gen.get("seconds")), "—", "—"],
    ])
    recon = Table(["metric", "this run"], [
        ["NeRFs fitted / mean held-out PSNR (dB)", f"{fmt(fit.get('count'))} / {fmt(fit.get('mean_psnr'))}"],
        ["test NeRFs, held-out PSNR (dB)", fmt(train.get("test_nerf_psnr"))],
        ["decoded test embeddings, held-out PSNR (dB)", fmt(train.get("test_decoded_psnr"))],
        ["a blank render, held-out PSNR (dB)", fmt(train.get("test_blank_psnr"))],
        ["shape → NeRF embedding transfer, held-out PSNR (dB)", fmt(transfer.get("test_mapped_psnr"))],
    ])
    refs = [("latent_gan", "latent GAN"), ("train_embeddings", "training embeddings"), ("gaussian_per_class", "Gaussian per class")]
    measures = [("mmd", "MMD ↓"), ("coverage", "coverage ↑"), ("1nna", "1-NNA (0.5 ideal)"),
                ("novelty", "novelty (≈1 as new as unseen data)"), ("class_consistency", "class consistency ↑")]
    generation = Table(["measure"] + [label for _, label in refs],
                       [[label] + [fmt(gen.get(r, {}).get(k)) for r, _ in refs] for k, label in measures])
    sections = [
        Section("Classification and retrieval", "NeRFs of the embedded objects, classified from their nf2vec "
                "embeddings and against a CNN on views rendered from the NeRFs.", [cls],
                _figures(plots_dir, [("nerf_confusion.png", "Confusion matrix of the NeRF classifier (test split)"),
                                     ("nerf_retrieval.png", "Retrieval: test NeRFs and their nearest neighbours in embedding space")])),
        Section("Reconstruction and interpolation", "Embeddings decoded by the radiance decoder and rendered "
                "from held-out views.", [recon],
                _figures(plots_dir, [("nerf_reconstruct.png", "NeRFs and their decoded embeddings, held-out views"),
                                     ("nerf_interpolation.png", "Decoded interpolations between two NeRF embeddings"),
                                     ("nerf_transfer.png", "Shape NF embeddings mapped to NeRF embeddings, rendered")])),
        Section("Generation", "A class-conditional latent GAN on the NeRF embeddings, scored on the test "
                "classes beside two references (mean of the draws).", [generation],
                _figures(plots_dir, [("nerf_generation.png", "Generated NeRFs, decoded and rendered; last column: nearest training item")])),
        Section("Timing", "Per-NeRF latency on this machine beside the paper's GPU figures, and the stages' times.", [timing],
                _figures(plots_dir, [("nerf_timing.png", "Latency per NeRF, by part: encoding, rendering, classification")])),
    ]
    return Page("nf2vec results: NeRFs as data", "`make repro-nerf`: multi-view renders, NeRFs fitted from "
                "one shared initialisation, nf2vec on their weights, and the tasks on its embeddings.",
                {**prov, "measured_on": str(fit.get("hardware") or tasks.get("hardware") or "")}, sections, links("nerf"))


def arena_page(metrics_dir: Path, plots_root: Path, reports_dir: Path, prov: dict[str, str]) -> Page:
    """The Neural Field Arena (``make repro-arena``); its figures are under ``plots_root/arena``."""
    plots_dir = plots_root / "arena"
    board = [r for r in read_csv_rows(reports_dir / "leaderboard.csv") if r.get("run")]
    lead = Table(["dataset", "classifier", "init", "NF", "steps", "test accuracy", "PSNR (dB)", "fit (s)", "train (s)"],
                 [[r["dataset"], r["classifier"], r["init"], r["nf"], _num(r.get("steps"), 3), _num(r.get("accuracy")),
                   _num(r.get("psnr")), _num(r.get("fit_seconds")), _num(r.get("train_seconds"))] for r in board])
    summary = read_results(metrics_dir / "arena_summary.json")
    paper_init = {"mnist/siren": "0.72 / 0.37", "mnist/rffnet": "0.86 / 0.20", "mnist/mfn": "0.91 / 0.23"}
    init = Table(["dataset / NF", "shared init", "random init", "paper (Neural MNIST, shared / random)"],
                 [[k, fmt(v.get("shared")), fmt(v.get("random")), paper_init.get(k, "—")]
                  for k, v in sorted(summary.get("init", {}).items())])
    paper_mnist = Table(HEADER, [
        ["Neural MNIST here: the run best on validation", fmt(summary.get("best", {}).get("mnist")),
         "96.40 (GNN), 93.51 (DWS), 95.08 (Relational Transformer), full 70k MNIST", f"{PAPA}, Table 2"],
        ["Neural Digits here: the run best on validation", fmt(summary.get("best", {}).get("digits")), "—", "—"],
    ])
    conn = read_results(metrics_dir / "arena_connectivity.json")
    conn_t = Table(["measure", "same init", "different inits"], [
        [label, fmt(conn.get(f"same_init_{k}")), fmt(conn.get(f"different_inits_{k}"))]
        for k, label in [("barrier", "loss barrier on the straight line between two fits"),
                         ("barrier_after_matching", "the same after weight matching"),
                         ("matching_identity_fraction", "identity share of the weight-matching permutation"),
                         ("within_between_ratio", "within-signal / between-signal L2 distance")]])
    distances = sorted(p.name for p in plots_dir.glob("param_distances_*.png"))
    seen: set[str] = set()
    confusions = []
    for r in board:  # the first shared-init row of each dataset: its best on validation (the ranking)
        if r["init"] == "shared" and r["dataset"] not in seen:
            seen.add(r["dataset"])
            confusions.append((f"{r['run']}/confusion_{r['classifier']}_{r['run']}.png",
                               f"Confusion matrix, {r['classifier']} on {r['run']} (best of {r['dataset']} on validation)"))
    sections = [
        Section("Leaderboard", "Weight-space classifiers on neural datasets: dataset × NF × init × fitting steps; "
                "ranked on validation accuracy; accuracy on each dataset's held-out test split.", [paper_mnist, lead],
                _figures(plots_dir, confusions)),
        Section("Shared versus random initialisation", f"Mean accuracy over the steps × width grid, beside {PAPA}, Table 1.",
                [init], _figures(plots_dir, [("accuracy_vs_nmi.png", "Accuracy against the k-means NMI of the weights"),
                                             ("accuracy_vs_psnr.png", "Accuracy against the fits' PSNR"),
                                             ("accuracy_vs_psnr_ratio.png", "Accuracy against the off-grid / on-grid PSNR ratio")])),
        Section("Parameter distances", "Histograms of the pairwise distances between NFs' weights.", [],
                _figures(plots_dir, [(n, f"Pairwise parameter distances, {n[len('param_distances_'):-4].replace('_', ' ')}")
                                     for n in distances])),
        Section("Timing", "Fitting and classifier training time of each run.", [],
                _figures(plots_root, [("arena_times.png", "Time of each Arena run, by stage")])),
        Section("Mode connectivity", f"Several fits of a few MNIST digits, from one init and from different inits "
                f"({NF2VEC}, Figs. 24–25).", [conn_t],
                _figures(plots_dir, [("mode_connectivity.png", "Loss along the straight line between two fits"),
                                     ("repeatability.png", "L2 distances between all fits")])),
    ]
    return Page("nf2vec results: Neural Field Arena", "`make repro-arena`: image neural datasets (Neural MNIST, "
                "Neural Digits), shared against random initialisation, weight-space classifiers.",
                prov, sections, links("arena"))


def _seeded(record: dict[str, Any], model: str, key: str) -> str:
    """``mean ± std (n seeds)`` of a per-model entry of a record with top-level ``seeds``."""
    entry = record.get(model, {})
    return value_text({**entry, "seeds": record.get("seeds")}, key) if key in entry else fmt(None)


def shape_tasks_page(metrics_dir: Path, plots_dir: Path, dataset: str, prov: dict[str, str]) -> Page:
    """Embeddings as input and output for shapes (``make repro-shape-tasks``): part segmentation,
    generation and completion on one dataset."""
    seg, gen, comp = (load_metrics(metrics_dir, s, dataset) for s in ("part_seg", "shape_generation", "completion"))
    seg_rows = [[label] + [_seeded(seg, model, k) for k in ("instance_miou", "class_miou", "accuracy")] + [paper]
                for model, label, paper in [
                    ("nf2vec", "part decoder on nf2vec embeddings", "81.3 / 76.9 (ShapeNet-Part)"),
                    ("pointnet", "PointNet on the same points", "83.1 / 79.0 (ShapeNet-Part)"),
                    ("class_prior", "control: the part decoder on zero embeddings (point and category only)", "—")]]
    seg_table = Table(["model", "instance mIoU", "class mIoU", "point accuracy", f"paper, instance / class ({NF2VEC}, Table IV)"],
                      seg_rows)
    cats = read_csv_rows(plots_dir / f"part_seg_{dataset}.csv") if (plots_dir / f"part_seg_{dataset}.csv").is_file() else []
    per_cat = Table(["category", "nf2vec", "PointNet", "class prior"],
                    [[r["category"], _num(r.get("nf2vec_miou")), _num(r.get("pointnet_miou")), _num(r.get("class_prior_miou"))]
                     for r in cats])
    sets = [("latent_gan", "latent GAN"), ("gaussian_per_class", "Gaussian per class"),
            ("train_embeddings", "training embeddings, decoded"), ("train_surfaces", "training shapes (ground truth)")]
    chamfer, empty = gen.get("chamfer", {}), gen.get("empty_share", {})
    gen_table = Table(["set", "MMD-CD ↓", "coverage ↑", "1-NNA (0.5 ideal)", "empty decodes"],
                      [[label, fmt(chamfer.get(k, {}).get("mmd")), fmt(chamfer.get(k, {}).get("coverage")),
                        fmt(chamfer.get(k, {}).get("1nna")), fmt(empty.get(k))] for k, label in sets if k in chamfer])
    emb = gen.get("embedding", {})
    gen_emb = Table(["set (embedding space)", "MMD", "coverage", "1-NNA", "novelty", "class consistency"],
                    [[label] + [fmt(emb.get(k, {}).get(m)) for m in ("mmd", "coverage", "1nna", "novelty", "class_consistency")]
                     for k, label in [("latent_gan", "latent GAN"), ("gaussian_per_class", "Gaussian per class"),
                                      ("train_embeddings", "training embeddings")] if k in emb])
    scores = comp.get("scores", {})
    comp_table = Table(["completion of the test shapes", "Chamfer ↓", "F-score ↑"],
                       [[label, fmt(scores.get(k, {}).get("chamfer")), fmt(scores.get(k, {}).get("fscore"))]
                        for k, label in [("partial_input", "the partial input itself"),
                                         ("nf2vec_completion", "nf2vec: partial embedding → transfer MLP → decoder"),
                                         ("nearest_train", "nearest training shape by partial embedding"),
                                         ("complete_embedding", "the complete shape's own embedding, decoded (ceiling)")]
                        if k in scores])
    sections = [
        Section("Part segmentation", "A decoder fed with [embedding; category one-hot] and a query point predicts "
                "the point's part, trained on frozen embeddings; PointNet segmentation is trained on the same points, "
                "splits and epochs. Each model is selected on validation and scored once on test; the control "
                "shows what the embedding adds to the category's average part layout.", [seg_table, per_cat],
                _figures(plots_dir, [(f"part_seg_{dataset}.png", "Test shapes: ground-truth parts and the part decoder's")])),
        Section("Generation", "A latent GAN on the training embeddings; generated, Gaussian and training embeddings "
                "are decoded to point clouds and compared with the test shapes of the same classes (Chamfer "
                "MMD, coverage, 1-NNA within each class).", [gen_table, gen_emb],
                _figures(plots_dir, [(f"shape_generation_{dataset}.png", "Generated shapes beside the nearest training shape")])),
        Section("Completion", "Partial shapes fitted as NFs from the dataset's shared initialisation; a transfer "
                "MLP maps their embeddings to the complete shapes' (trained on train, epoch chosen on validation), "
                "and the decoder turns the mapped embeddings of test shapes into completions.", [comp_table],
                _figures(plots_dir, [(f"completion_{dataset}.png", "Partial input, completion and ground truth")])),
    ]
    return Page(f"nf2vec results: shape tasks, dataset `{dataset}`", "`make repro-shape-tasks`: nf2vec embeddings "
                f"as input (part segmentation) and output (generation, completion), after {NF2VEC}, §V.",
                prov, sections, links("shape_tasks"))


def _kind_row(metrics_dir: Path, dataset: str) -> list[str]:
    """One dataset's row of the field-kinds table: NF fit, nf2vec accuracy and reconstructions."""
    fit, cls, rec = (load_metrics(metrics_dir, s, dataset) for s in ("fit", "classify", "reconstruct"))
    nf_fit = (f"Chamfer {fmt(fit['mean_chamfer'])}" if "mean_chamfer" in fit
              else f"IoU {fmt(fit.get('mean_iou'))}")
    acc = value_text(cls, "accuracy") if "accuracy" in cls else fmt(None)
    return [f"`{dataset}`", nf_fit, acc,
            f"{fmt(rec.get('nf_chamfer'))} / {fmt(rec.get('nf_fscore'))}",
            f"{fmt(rec.get('nf2vec_chamfer'))} / {fmt(rec.get('nf2vec_fscore'))}"]


def field_kinds_page(metrics_dir: Path, plots_dir: Path, datasets: list[str], field_map: str,
                     prov: dict[str, str]) -> Page:
    """Every field kind through the pipeline (``make repro-field-kinds``): one row per dataset of
    ``datasets``, and the mapping ``field_map`` (a key of ``pipeline.field_maps``) between two of them."""
    kinds = Table(["dataset", "NF fit (IoU; Chamfer for UDF)", "nf2vec test accuracy",
                   "the NFs themselves: Chamfer / F-score", "decoded embeddings: Chamfer / F-score"],
                  [_kind_row(metrics_dir, d) for d in datasets])
    fm = read_results(metrics_dir / f"field_map_{field_map}.json")
    scores = fm.get("scores", {})
    src, tgt = fm.get("source_kind", "source").upper(), fm.get("target_kind", "target").upper()
    map_table = Table([f"{src} → {tgt} of the test shapes", "Chamfer ↓", "F-score ↑"],
                      [[label, fmt(scores.get(k, {}).get("chamfer")), fmt(scores.get(k, {}).get("fscore"))]
                       for k, label in [("nf2vec_mapping", f"nf2vec: {src} embedding → transfer MLP → {tgt} decoder"),
                                        ("source_embedding", f"the {src} embedding decoded by its own decoder"),
                                        ("nearest_train", f"nearest training shape by {src} embedding"),
                                        ("target_embedding", f"the shape's own {tgt} embedding, decoded (ceiling)")]
                       if k in scores])
    closed = Table(["mapped meshes", "share"], [["closed (watertight)", fmt(fm.get("watertight_share"))],
                                                ["empty (no surface in the grid)", fmt(fm.get("empty_share"))]])
    sections = [
        Section("Field kinds", "The same kind of procedural shapes as occupancy, signed distance (SDF, of the mesh) "
                "and unsigned distance (UDF, of the surface) fields, each through the whole pipeline with its own "
                "nf2vec: fit, encoder and decoder with the kind's loss, classification (mean ± std over seeds) and "
                "reconstruction, scored on the test split.", [kinds],
                _figures(plots_dir, [(f"reconstruct_{d}.png", f"`{d}`: NFs and decoded embeddings") for d in datasets])),
        Section("Mapping between field kinds", f"A transfer MLP maps the {src} embeddings of shapes to the {tgt} "
                f"embeddings of the same shapes (trained on train, epoch chosen on validation); the {tgt} decoder "
                "turns the mapped embeddings of test shapes into fields, meshed by marching cubes.",
                [map_table, closed],
                _figures(plots_dir, [(f"field_map_{field_map}.png", f"{src} input, mapped {tgt} mesh, ground truth")])),
    ]
    return Page("nf2vec results: field kinds", "`make repro-field-kinds`: occupancy, SDF and UDF neural fields of "
                f"the same kind of shapes, and embeddings of one kind mapped to another, after {NF2VEC}, §V, Fig. 18.",
                prov, sections, links("field_kinds"))


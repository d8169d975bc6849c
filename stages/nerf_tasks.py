"""NeRF classification and retrieval from nf2vec embeddings (paper 000 Tables V-VI) against
render-then-classify CNN baselines on 1 and 9 views rendered from the NeRFs, and the inference-time
table (Table VII): encoding, rendering, classification and total per NeRF."""
from __future__ import annotations

import torch
from _common import PATHS, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.nerf.dataset import NerfDataParams, NerfDataset, load_view_sets
from nf2vec_core.nerf.encoder import load_checkpoint
from nf2vec_core.nerf.render_config import RenderConfig
from nf2vec_core.nerf.tasks import (BaselineParams, baseline_pose_indices, inference_times, render_nerf_views,
                                    render_then_classify)
from nf2vec_core.nerf.view_panels import retrieval_panels
from nf2vec_core.runtime import hardware_summary
from nf2vec_core.store.embeddings import read_embeddings, split_arrays
from nf2vec_core.store.io import write_csv
from nf2vec_core.store.results import write_results
from nf2vec_core.tasks.classification import ClassifierConfig, evaluate_classifier, save_classifier, train_classifier
from nf2vec_core.tasks.params import RetrievalParams
from nf2vec_core.tasks.retrieval import retrieval_report
from nf2vec_core.viz.plots import plot_confusion, plot_image_grid


def main() -> None:
    ap = parser(__doc__)
    args = ap.parse_args()
    p = params(args)
    data = load_section(p, "nerf.data", NerfDataParams)
    cls_cfg = load_section(p, "classifier", ClassifierConfig)
    base = load_section(p, "nerf.baseline", BaselineParams)
    ks = list(load_section(p, "retrieval", RetrievalParams).ks)
    ds = NerfDataset(PATHS.nerfs(data.from_dataset))
    classes = ds.classes
    emb, index = read_embeddings(PATHS.embeddings("nerf"))
    (tx, ty), (vx, vy), (sx, sy) = (split_arrays(emb, index, s) for s in ("train", "val", "test"))
    model, _ = train_classifier(tx, ty, vx, vy, cls_cfg, num_classes=len(classes))
    res = evaluate_classifier(model, sx, sy, len(classes), class_names=classes)
    save_classifier(PATHS.classifier("nerf"), model, cls_cfg, classes)
    plot_confusion(res["confusion"], classes, PATHS.plot("nerf_confusion"),
                   title=f"nf2vec NeRF classification (test acc {res['accuracy']:.3f})")
    ret = retrieval_report(sx, sy, ks=[k for k in ks if k < len(sy)])
    out = {"nf2vec_accuracy": float(res["accuracy"]), "per_class_accuracy": res["per_class_accuracy"],
           "n_train": int(len(ty)), "n_test": int(len(sy)), "retrieval": ret}

    # render-then-classify baselines: views rendered from the NeRFs at fixed training poses
    theta = ds.params()
    ids = ds.index["id"].tolist()
    ref = load_view_sets(PATHS.views(data.from_dataset), ids[:1], "train")[0]
    poses = ref.c2w[baseline_pose_indices(ref.n_views, base.views)]
    render = RenderConfig(samples_per_ray=base.samples_per_ray, estimator="batched")
    views, labels = {}, {}
    for s in ("train", "val", "test"):
        r = ds.split_rows(s)
        views[s] = render_nerf_views(ds.arch, theta[r], poses, ref.focal, ref.height, ref.width, render, progress=True)
        labels[s] = ds.labels[r]
    acc, cnns = render_then_classify(views, labels, len(classes), base)
    out.update(acc)

    # retrieval, qualitative (Fig. 19): test queries and their nearest test NeRFs in embedding space, seen
    # from the first held-out pose (oblique; the first training pose looks straight down)
    test_rows = ds.split_rows("test")
    held_out = load_view_sets(PATHS.views(data.from_dataset), ids[:1], "val")[0]
    panels = retrieval_panels(ds.arch, theta[test_rows], sx, sy.tolist(), classes, held_out.c2w[0], held_out.focal,
                              held_out.height, held_out.width, render, queries=4, k=4)
    plot_image_grid(panels.images, panels.titles, PATHS.plot("nerf_retrieval"), ncols=5)

    # inference time per NeRF (one NeRF at a time, as a user would query it)
    arch, encoder, _, _ = load_checkpoint(PATHS.nerf_encoder())
    table = inference_times(arch, encoder, model, cnns, theta[test_rows[:1]], views["test"][0], poses, ref.focal,
                            ref.height, ref.width, render)
    write_csv(PATHS.plot("nerf_timing", ext="csv"), table)
    out["timing_ms"] = {r.method: round(r.total_ms, 3) for r in table.itertuples()}
    out["speedup_vs_multi_view"] = float(table.total_ms.iloc[2] / table.total_ms.iloc[0])
    out["hardware"] = hardware_summary()
    write_results(PATHS.metrics("nerf_tasks"), out)
    print(table.to_string())
    print({k: v for k, v in out.items() if k not in ("per_class_accuracy",)})


if __name__ == "__main__":
    run(main)

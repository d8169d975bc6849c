"""Baselines in the same run: PointNet on the ground-truth point clouds of the same splits
(paper 000 Table III) and the inference-time comparison of paper 000 Fig. 11."""
from __future__ import annotations

import json

import torch
from _common import ROOT, parser, params, run

from nf2vec_core.config import load_section
from nf2vec_core.fitting.targets import PreparedData
from nf2vec_core.store.io import write_csv, write_json
from nf2vec_core.store.neural_dataset import NeuralDataset
from nf2vec_core.tasks.classification import load_classifier
from nf2vec_core.tasks.params import TimingParams
from nf2vec_core.tasks.pointnet import PointNetConfig, evaluate_pointnet, inference_timing, train_pointnet
from nf2vec_core.tasks.timing import nf_sampler
from nf2vec_core.train.checkpoint import load_model
from nf2vec_core.viz.figures import plot_timing


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    args = ap.parse_args()
    p = params(args)
    pn_cfg = load_section(p, "pointnet", PointNetConfig)
    timing = load_section(p, "timing", TimingParams)
    prepared = PreparedData(ROOT / "data" / "prepared" / args.dataset)
    neural = NeuralDataset(ROOT / "data" / "neural" / args.dataset)
    classes = prepared.meta["classes"]
    surface = prepared.tensor("surface")[:, : timing.pointnet_points]
    labels = torch.as_tensor(prepared.index["class_id"].to_numpy())
    split = {s: torch.as_tensor(neural.split_rows(s)) for s in ("train", "val", "test")}
    model, _ = train_pointnet(surface[split["train"]], labels[split["train"]], surface[split["val"]],
                              labels[split["val"]], pn_cfg, num_classes=len(classes))
    res = evaluate_pointnet(model, surface[split["test"]], labels[split["test"]], len(classes), class_names=classes)

    # latency: nf2vec encode + classify one NF vs PointNet on N points vs sample-from-NF + PointNet
    encoder, _, _ = load_model(ROOT / "models" / args.dataset / "best.pt")
    clf, _ = load_classifier(ROOT / "models" / args.dataset / "classifier.pt")
    theta = neural.params(split["test"][:1].tolist())
    spec = neural.spec

    def encode_classify():
        with torch.no_grad():
            return clf(encoder(encoder.rows(spec, theta))).argmax(-1)

    df = inference_timing(encode_classify, model, point_counts=timing.points, repeats=timing.repeats,
                          sample_fn=nf_sampler(spec, theta, prepared.kind, float(prepared.meta.get("clip", 0.1))))
    write_csv(ROOT / "plots" / f"timing_{args.dataset}.csv", df)
    plot_timing(df, ROOT / "plots" / f"timing_{args.dataset}.png")
    enc_ms = float(df[df["method"] == "nf2vec"]["latency_ms"].median())
    write_json(ROOT / "metrics" / f"baselines_{args.dataset}.json",
               {"pointnet_accuracy": float(res["accuracy"]), "pointnet_points": timing.pointnet_points,
                "nf2vec_encode_classify_ms": enc_ms,
                "pointnet_ms": {str(int(r.n_points)): float(r.latency_ms) for r in df[df["method"] == "pointnet"].itertuples()}})
    print(json.dumps({"pointnet_accuracy": res["accuracy"], "nf2vec_ms": enc_ms}))


if __name__ == "__main__":
    run(main)

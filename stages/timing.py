"""Inference latency (paper 000 Fig. 11): nf2vec encode + classify one NF vs PointNet on N points
and vs sampling N points from the NF and running PointNet. Latency does not depend on the weights'
values, so the PointNet here has the baseline's architecture without its training: an experiment
on the classifier or the encoder does not retrain PointNet, and PointNet's settings do not re-time."""
from __future__ import annotations

import torch
from _common import PATHS, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.store.io import write_csv
from nf2vec_core.store.neural_dataset import NeuralDataset
from nf2vec_core.store.prepared import PreparedData
from nf2vec_core.store.results import write_results
from nf2vec_core.tasks.classification import load_classifier
from nf2vec_core.tasks.params import TimingParams
from nf2vec_core.tasks.pointnet import PointNetClassifier, PointNetConfig, inference_timing
from nf2vec_core.tasks.timing import nf_sampler
from nf2vec_core.train.checkpoint import load_model
from nf2vec_core.viz.plots import plot_timing


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    args = ap.parse_args()
    p = params(args)
    pn_cfg = load_section(p, "pointnet", PointNetConfig)
    timing = load_section(p, "timing", TimingParams)
    prepared = PreparedData(PATHS.prepared(args.dataset))
    neural = NeuralDataset(PATHS.neural(args.dataset))
    encoder, _, _ = load_model(PATHS.encoder(args.dataset))
    clf, classes = load_classifier(PATHS.classifier(args.dataset))
    theta = neural.params(neural.split_rows("test")[:1])
    spec = neural.spec

    def encode_classify():
        with torch.no_grad():
            return clf(encoder(encoder.rows(spec, theta))).argmax(-1)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(pn_cfg.seed)
        pointnet = PointNetClassifier(len(classes), pn_cfg.input_transform, pn_cfg.dropout)
    df = inference_timing(encode_classify, pointnet, point_counts=timing.points, repeats=timing.repeats,
                          sample_fn=nf_sampler(spec, theta, prepared.kind, float(prepared.meta.get("clip", 0.1))))
    write_csv(PATHS.plot("timing", args.dataset, "csv"), df)
    plot_timing(df, PATHS.plot("timing", args.dataset))
    enc_ms = float(df[df["method"] == "nf2vec"]["latency_ms"].median())
    write_results(PATHS.metrics("timing", args.dataset),   # latencies only: timings/timing_<d>.json
               {"nf2vec_encode_classify_ms": enc_ms,
                "pointnet_ms": {str(int(r.n_points)): float(r.latency_ms) for r in df[df["method"] == "pointnet"].itertuples()}})
    print({"nf2vec_ms": enc_ms})


if __name__ == "__main__":
    run(main)

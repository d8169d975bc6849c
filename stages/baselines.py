"""Baseline in the same run: PointNet on the ground-truth point clouds of the same splits
(paper 000 Table III); the inference-time comparison of Fig. 11 is the ``timing`` stage."""
from __future__ import annotations

import json

import torch
from _common import PATHS, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.store.io import write_json
from nf2vec_core.store.neural_dataset import NeuralDataset
from nf2vec_core.store.prepared import PreparedData
from nf2vec_core.tasks.params import TimingParams
from nf2vec_core.tasks.pointnet import PointNetConfig, evaluate_pointnet, train_pointnet


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    args = ap.parse_args()
    p = params(args)
    pn_cfg = load_section(p, "pointnet", PointNetConfig)
    timing = load_section(p, "timing", TimingParams)
    prepared = PreparedData(PATHS.prepared(args.dataset))
    neural = NeuralDataset(PATHS.neural(args.dataset))
    classes = prepared.meta["classes"]
    surface = prepared.tensor("surface")[:, : timing.pointnet_points]
    labels = torch.as_tensor(prepared.index["class_id"].to_numpy())
    split = {s: torch.as_tensor(neural.split_rows(s)) for s in ("train", "val", "test")}
    model, _ = train_pointnet(surface[split["train"]], labels[split["train"]], surface[split["val"]],
                              labels[split["val"]], pn_cfg, num_classes=len(classes))
    res = evaluate_pointnet(model, surface[split["test"]], labels[split["test"]], len(classes), class_names=classes)

    write_json(PATHS.metrics("baselines", args.dataset),
               {"pointnet_accuracy": float(res["accuracy"]), "pointnet_points": timing.pointnet_points})
    print(json.dumps({"pointnet_accuracy": res["accuracy"]}))


if __name__ == "__main__":
    run(main)

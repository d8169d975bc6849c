"""Baseline in the same run: PointNet on the ground-truth point clouds of the same splits
(Zama Ramirez et al., Table III), trained once per seed of ``evaluation.seeds`` like the headline
classifier (its seed-mean validation curve in ``plots/pointnet_<dataset>.csv``); the
inference-time comparison of Fig. 11 is the ``timing`` stage."""
from __future__ import annotations

import json

import pandas as pd
import torch
from _common import PATHS, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.store.io import write_csv, write_json
from nf2vec_core.store.neural_dataset import NeuralDataset
from nf2vec_core.store.prepared import PreparedData
from nf2vec_core.tasks.params import TimingParams
from nf2vec_core.tasks.pointnet import PointNetConfig
from nf2vec_core.tasks.pointnet_benchmark import pointnet_benchmark
from nf2vec_core.tasks.seeds import EvaluationParams


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    args = ap.parse_args()
    p = params(args)
    pn_cfg = load_section(p, "pointnet", PointNetConfig)
    timing = load_section(p, "timing", TimingParams)
    evaluation = load_section(p, "evaluation", EvaluationParams)
    prepared = PreparedData(PATHS.prepared(args.dataset))
    neural = NeuralDataset(PATHS.neural(args.dataset))
    surface = prepared.tensor("surface")[:, : timing.pointnet_points]
    labels = torch.from_numpy(prepared.index["class_id"].to_numpy(dtype="int64", copy=True))
    rows = {s: torch.as_tensor(neural.split_rows(s)) for s in ("train", "val", "test")}
    rec = pointnet_benchmark({s: surface[r] for s, r in rows.items()}, {s: labels[r] for s, r in rows.items()},
                             pn_cfg, evaluation.seeds, prepared.meta["classes"])
    history = pd.DataFrame(rec.pop("history")).reset_index(names="epoch")
    write_csv(PATHS.plot("pointnet", args.dataset, "csv"), history)
    write_json(PATHS.metrics("baselines", args.dataset), {**rec, "pointnet_points": timing.pointnet_points})
    print(json.dumps({k: rec[k] for k in ("pointnet_accuracy", "pointnet_accuracy_std", "best_epoch_per_seed")}))


if __name__ == "__main__":
    run(main)

"""Part segmentation from nf2vec embeddings vs PointNet on the same points (Zama Ramirez et al.,
Table IV), with the part decoder on zero embeddings as the control: each trained once per seed of
``evaluation.seeds`` on the train split, selected on val, scored on test (instance and class mIoU
as mean ± std); the first seed's part decoder is kept."""
from __future__ import annotations

import json
from dataclasses import replace

import torch
from _common import PATHS, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.store.embeddings import read_embeddings
from nf2vec_core.store.io import write_csv
from nf2vec_core.store.prepared import PreparedData
from nf2vec_core.store.results import write_results
from nf2vec_core.tasks.part_benchmark import MODELS, benchmark_record, per_category_frame, run_benchmark
from nf2vec_core.tasks.part_data import PartSegParams, load_part_splits
from nf2vec_core.tasks.reconstruction import spread
from nf2vec_core.tasks.seeds import EvaluationParams
from nf2vec_core.tasks.segmentation import save_part_decoder
from nf2vec_core.viz.parts import plot_part_segmentation


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    args = ap.parse_args()
    p = params(args)
    cfg = load_section(p, "part_seg", PartSegParams)
    seeds = load_section(p, "evaluation", EvaluationParams).seeds
    emb, index = read_embeddings(PATHS.embeddings(args.dataset))
    splits, taxonomy = load_part_splits(PreparedData(PATHS.prepared(args.dataset)), points=cfg.points,
                                        embeddings=emb, embedding_index=index,
                                        embeddings_dir=PATHS.embeddings(args.dataset))
    runs = run_benchmark(splits, taxonomy, cfg, seeds)
    record = benchmark_record(runs, seeds, cfg)
    first = runs[0]["nf2vec"]
    save_part_decoder(PATHS.models(args.dataset) / "part_decoder.safetensors", first["model"],
                      replace(cfg.decoder, seed=seeds[0]), taxonomy)
    write_csv(PATHS.plot("part_seg", args.dataset, "csv"), per_category_frame(record))
    test = splits["test"]
    shown = spread(list(range(len(test))), cfg.plot_shapes)
    if shown:
        pred = torch.as_tensor(first["scores"]["predictions"])
        plot_part_segmentation([test.points[i] for i in shown], [pred[i] for i in shown],
                               [test.labels[i] for i in shown],
                               [f"{taxonomy.categories[int(test.class_ids[i])]} (nf2vec, seed {seeds[0]})"
                                for i in shown], PATHS.plot("part_seg", args.dataset))
    write_results(PATHS.metrics("part_seg", args.dataset), record)
    print(json.dumps({m: {k: record[m][k] for k in ("instance_miou", "instance_miou_std", "class_miou")}
                      for m in MODELS}))


if __name__ == "__main__":
    run(main)

"""Train nf2vec (encoder + implicit decoder) on a neural dataset; best checkpoint on validation.

Runs under torchrun too:  torchrun --nproc_per_node 2 stages/train_encoder.py --dataset shapes
"""
from __future__ import annotations

from dataclasses import asdict

import pandas as pd
from _common import PATHS, ROOT, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.decoders.implicit import ImplicitDecoderConfig
from nf2vec_core.store import staging
from nf2vec_core.store.io import write_csv
from nf2vec_core.store.neural_dataset import NeuralDataset, load_views
from nf2vec_core.store.prepared import PreparedData
from nf2vec_core.store.results import write_results
from nf2vec_core.train import distributed as D
from nf2vec_core.train.data import field_dataset
from nf2vec_core.train.params import EncoderParams
from nf2vec_core.train.trainer import train_nf2vec


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    args = ap.parse_args()
    p = params(args)
    enc = load_section(p, "encoder", EncoderParams)
    dec = load_section(p, "decoder", ImplicitDecoderConfig)
    prepared = PreparedData(PATHS.prepared(args.dataset))
    neural = NeuralDataset(PATHS.neural(args.dataset))
    views = load_views(PATHS.neural_views(args.dataset)) if enc.view_pairs else []
    pool = {"n_grid": enc.grid_queries, "surface_fraction": enc.surface_fraction, "offgrid": enc.offgrid}
    train = field_dataset(prepared, neural, neural.split_rows("train"), seed=enc.seed, views=views, **pool)
    val_rows = neural.split_rows("val")
    val = field_dataset(prepared, neural, val_rows, seed=enc.seed + 1, **pool) if val_rows else None
    out = PATHS.models(args.dataset)
    inputs = [prepared.root, neural.root] + ([PATHS.neural_views(args.dataset)] if enc.view_pairs else [])
    work = staging.work_dir(ROOT, "train_encoder", args.dataset)   # resumable: last epoch's checkpoint
    res = train_nf2vec(train, val, neural.spec, prepared.kind, enc.encoder_config(), dec,
                       enc.train_config(float(prepared.meta.get("clip", 0.1))), work,
                       fingerprint=staging.fingerprint({"encoder": asdict(enc), "decoder": asdict(dec)}, inputs,
                                                       [__file__]))
    if D.is_main_process():
        for name in ("best.safetensors", "last.safetensors", "history.csv"):
            staging.publish_file(work / name, out / name)
        hist = pd.DataFrame(res["history"])
        write_csv(PATHS.plot("train", args.dataset, "csv"), hist.drop(columns=["seconds"]))  # seconds: timings/
        write_results(PATHS.metrics("train", args.dataset),
                   {"best_epoch": int(res["best_epoch"]), "best_val_loss": float(res["best_val_loss"]),
                    "final_train_loss": float(hist["train_loss"].iloc[-1]),
                    "seconds": round(float(hist["seconds"].sum()), 1)})
        staging.close_work(work)
    D.cleanup()


if __name__ == "__main__":
    run(main)

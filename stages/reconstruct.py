"""Reconstruct test shapes from nf2vec embeddings and from their input NFs (Fig. 4), score them
(Chamfer, F-score, IoU), and interpolate between two embeddings vs between raw weights (Figs. 6, 8)."""
from __future__ import annotations

import numpy as np
import torch
from _common import PATHS, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.decoders.reconstruct import interpolate, interpolate_weights
from nf2vec_core.store.embeddings import read_embeddings
from nf2vec_core.store.io import write_json
from nf2vec_core.store.neural_dataset import NeuralDataset
from nf2vec_core.store.prepared import PreparedData
from nf2vec_core.tasks.reconstruction import (ReconstructParams, decoder_level, nf_and_decoder_fields,
                                              reconstruction_scores, spread)
from nf2vec_core.train.checkpoint import load_model
from nf2vec_core.viz.plots import plot_point_clouds


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    args = ap.parse_args()
    p = load_section(params(args), "reconstruct", ReconstructParams)
    _, decoder, meta = load_model(PATHS.encoder(args.dataset))
    neural = NeuralDataset(PATHS.neural(args.dataset))
    prepared = PreparedData(PATHS.prepared(args.dataset))
    emb_all, index = read_embeddings(PATHS.embeddings(args.dataset))
    kind, clip, spec = prepared.kind, float(prepared.meta.get("clip", 0.1)), neural.spec
    rows = spread(neural.split_rows("test"), p.n_examples)   # every class, not the first one only
    sel = torch.as_tensor(rows)
    theta, emb = neural.params(rows), emb_all[sel]
    surface = prepared.tensor("surface")[sel]
    voxels = prepared.tensor("voxels")[sel] if kind == "occupancy" else None
    level, calibration = decoder_level(p, decoder, emb_all, neural.split_rows("val"), prepared, kind, clip)
    nf_fn, dec_fn = nf_and_decoder_fields(spec, theta, decoder, emb, kind, clip)
    nf_scores, nf_clouds = reconstruction_scores(nf_fn, len(rows), kind, surface, p, voxels)
    dec_scores, dec_clouds = reconstruction_scores(dec_fn, len(rows), kind, surface, p, voxels, level)
    names = index["class_name"].to_numpy()[rows]
    clouds, titles = [], []
    for i in spread(list(range(len(rows))), p.n_figure):
        clouds += [surface[i].numpy(), nf_clouds[i], dec_clouds[i]]
        titles += [f"ground truth ({names[i]})", "input NF", "nf2vec decoder"]
    plot_point_clouds(clouds, titles, PATHS.plot("reconstruct", args.dataset), ncols=3)

    # interpolation between two test shapes of different classes
    other = next((j for j in range(1, len(rows)) if names[j] != names[0]), 1)
    steps = p.interpolation_steps
    lat = interpolate(emb[0], emb[other], steps)
    wts = interpolate_weights(theta[0], theta[other], steps)
    lat_fn, wt_fn = nf_and_decoder_fields(spec, wts, decoder, lat, kind, clip)[::-1]
    small = ReconstructParams(**{**p.__dict__, "n_points": 2048})
    lat_clouds = reconstruction_scores(lat_fn, steps, kind, surface[:1].expand(steps, -1, -1), small, level=level)[1]
    wt_clouds = reconstruction_scores(wt_fn, steps, kind, surface[:1].expand(steps, -1, -1), small)[1]
    ts = np.linspace(0, 1, steps)
    plot_point_clouds(lat_clouds + wt_clouds, [f"latent t={t:.2f}" for t in ts] + [f"weights t={t:.2f}" for t in ts],
                      PATHS.plot("interpolation", args.dataset), ncols=steps)
    summary = {f"nf2vec_{k}": float(v.mean()) for k, v in dec_scores.items()}
    summary.update({f"nf_{k}": float(v.mean()) for k, v in nf_scores.items()})
    summary["n_examples"] = len(rows)
    if level is not None:
        summary["nf2vec_level"] = level
    if calibration:
        summary["nf2vec_level_calibration"] = {f"{lv:g}": round(v, 4) for lv, v in calibration.items()}
    write_json(PATHS.metrics("reconstruct", args.dataset), summary)
    print(summary)


if __name__ == "__main__":
    run(main)

"""Shape generation (Zama Ramirez et al. 2024 §V, Figs. 14-15): latent GAN(s) on the nf2vec embeddings of the
training shapes (params shape_generation); generated embeddings are decoded into point clouds and
scored against the test split's ground-truth surfaces (Chamfer MMD, coverage, 1-NNA within each
class; draws matched to the test split's classes) beside three references: a Gaussian per class
and the training embeddings, both decoded, and the training shapes' ground-truth surfaces. The
decoder's iso-level is chosen on the validation split (reconstruct.level, reconstruct.n_calibration);
the embeddings are also scored in latent space (with the classify stage's classifier)."""
from __future__ import annotations

import time

import pandas as pd
import torch
from _common import PATHS, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.errors import BadInputError
from nf2vec_core.store.embeddings import read_embeddings, split_arrays
from nf2vec_core.store.io import write_csv
from nf2vec_core.store.prepared import PreparedData
from nf2vec_core.store.results import write_results
from nf2vec_core.tasks.classification import load_classifier
from nf2vec_core.tasks.decoded import decode_clouds, subsample_clouds
from nf2vec_core.tasks.generation import generation_report
from nf2vec_core.tasks.reconstruction import ReconstructParams, decoder_level
from nf2vec_core.tasks.shape_generation import (ShapeGenerationParams, embedding_draws, nearest_training,
                                                shape_generation_report, train_shape_generator)
from nf2vec_core.train.checkpoint import load_model
from nf2vec_core.viz.generation import plot_generated_shapes


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--dataset", required=True)
    args = ap.parse_args()
    d = args.dataset
    pp = params(args)
    p = load_section(pp, "shape_generation", ShapeGenerationParams)
    rec = load_section(pp, "reconstruct", ReconstructParams)
    emb, index = read_embeddings(PATHS.embeddings(d))
    prepared = PreparedData(PATHS.prepared(d))
    if prepared.index["id"].tolist() != index["id"].tolist():
        raise BadInputError(PATHS.embeddings(d), "index does not match the prepared data (re-embed the same dataset)")
    _, decoder, _ = load_model(PATHS.encoder(d))
    classifier, classes = load_classifier(PATHS.classifier(d))
    kind, clip = prepared.kind, float(prepared.meta.get("clip", 0.1))
    train_rows, val_rows, test_rows = (prepared.split_rows([s]) for s in ("train", "val", "test"))
    (tx, ty), (sx, sy) = (split_arrays(emb, index, s) for s in ("train", "test"))
    surface = prepared.tensor("surface")

    t0 = time.perf_counter()
    sampler, hist = train_shape_generator(tx, ty, len(classes), p)
    train_seconds = time.perf_counter() - t0
    level, calibration = decoder_level(rec, decoder, emb, val_rows, prepared, kind, clip)   # chosen on val
    sets, idx = embedding_draws(sampler, tx, ty, sy, max(p.gan.draws, p.decode_draws), seed=p.gan.seed)
    latent = generation_report({k: v[:p.gan.draws] for k, v in sets.items()}, (sx, sy), tx, classifier)

    def clouds(e: torch.Tensor, name: str) -> torch.Tensor:
        return decode_clouds(decoder, e, kind, clip, p.n_points, p.resolution, level, progress=True, desc=name)

    decoded = {name: [clouds(e, name) for e in draws[:p.decode_draws]] for name, draws in sets.items()}
    train_surface = surface[torch.as_tensor(train_rows)]
    scored = {name: [subsample_clouds(c, p.metric_points, p.gan.seed) for c in draws]
              for name, draws in decoded.items()}
    scored["train_surfaces"] = [subsample_clouds(train_surface[i], p.metric_points, p.gan.seed)
                                for i in idx[:p.decode_draws]]
    ref = subsample_clouds(surface[torch.as_tensor(test_rows)], p.metric_points, p.gan.seed)
    chamfer = shape_generation_report(scored, ref, sy)
    write_csv(PATHS.plot("shape_generation", d, "csv"), pd.DataFrame(hist).reset_index(names="step"))

    # figure: the first generated shapes of each class (first draw) beside their nearest training shapes
    shown = torch.cat([torch.nonzero(sy == c)[:p.figure_per_class, 0] for c in torch.unique(sy).tolist()])
    nearest = nearest_training(sets["latent_gan"][0][shown], tx)
    plot_generated_shapes(list(decoded["latent_gan"][0][shown]), list(train_surface[nearest]),
                          [classes[int(c)] for c in sy[shown]], PATHS.plot("shape_generation", d),
                          per_row=p.figure_per_class)
    # decodes with no surface (clouds of zeros): the share of each decoded set
    empty = {name: float((torch.cat(c).abs().flatten(1).sum(1) == 0).float().mean()) for name, c in decoded.items()}
    out = {"n_train": len(train_rows), "n_val": len(val_rows), "n_test": len(test_rows), "per_class": p.per_class,
           "decode_draws": p.decode_draws, "embedding_draws": p.gan.draws, "metric_points": p.metric_points,
           "level": level, "level_calibration": {f"{lv:g}": round(v, 4) for lv, v in calibration.items()},
           "empty_share": empty, "chamfer": chamfer, "embedding": latent,
           "train_seconds": round(train_seconds, 1), "seconds": round(time.perf_counter() - t0, 1)}
    write_results(PATHS.metrics("shape_generation", d), out)
    print({k: v for k, v in out.items() if k not in ("level_calibration", "embedding")})


if __name__ == "__main__":
    run(main)

"""NeRF generation (paper 000 Fig. 20): a class-conditional latent GAN on the nf2vec embeddings of
the training NeRFs (params nerf.generation); generated embeddings are scored against the unseen test
embeddings (MMD, coverage, 1-NNA, novelty, class consistency under the nerf_tasks classifier; draws
matched to the test split's classes) beside two references (the training embeddings, a Gaussian per
class), then decoded and rendered."""
from __future__ import annotations

import time

import pandas as pd
import torch
from _common import PATHS, params, parser, run

from nf2vec_core.config import load_section
from nf2vec_core.nerf.dataset import NerfDataParams, load_view_sets
from nf2vec_core.nerf.encoder import load_checkpoint
from nf2vec_core.nerf.render_config import RenderConfig
from nf2vec_core.nerf.view_panels import generation_panels
from nf2vec_core.store.embeddings import read_embeddings, split_arrays
from nf2vec_core.store.io import write_csv
from nf2vec_core.store.results import write_results
from nf2vec_core.tasks.classification import load_classifier
from nf2vec_core.tasks.generation import (LatentGanParams, gaussian_samples, generation_report, subset_draw,
                                          train_latent_gan)
from nf2vec_core.viz.plots import plot_image_grid


def main() -> None:
    ap = parser(__doc__)
    args = ap.parse_args()
    p = params(args)
    data = load_section(p, "nerf.data", NerfDataParams)
    cfg = load_section(p, "nerf.generation", LatentGanParams)
    emb, index = read_embeddings(PATHS.embeddings("nerf"))
    classifier, classes = load_classifier(PATHS.classifier("nerf"))
    (tx, ty), (sx, sy) = (split_arrays(emb, index, s) for s in ("train", "test"))
    t0 = time.perf_counter()
    gan, hist = train_latent_gan(tx, ty, len(classes), cfg)
    seconds = time.perf_counter() - t0
    # scores: draws matched to the test split's classes, from the GAN and from the two references
    draws = {"latent_gan": [gan.sample(sy, torch.Generator().manual_seed(cfg.seed + r)) for r in range(cfg.draws)],
             "gaussian_per_class": [gaussian_samples(tx, ty, sy, seed=cfg.seed + r) for r in range(cfg.draws)],
             "train_embeddings": [subset_draw(tx, ty, sy, seed=cfg.seed + r) for r in range(cfg.draws)]}
    scores = generation_report(draws, (sx, sy), tx, classifier)
    write_csv(PATHS.plot("nerf_generation", ext="csv"), pd.DataFrame(hist).reset_index(names="step"))

    _, _, decoder, _ = load_checkpoint(PATHS.nerf_encoder())
    ref = load_view_sets(PATHS.views(data.from_dataset), index["id"].tolist()[:1], "val")[0]  # oblique
    shown = torch.unique(ty).repeat_interleave(4)           # four samples of every class for the figure
    samples = gan.sample(shown, torch.Generator().manual_seed(cfg.seed))
    nearest = tx[torch.cdist(samples, tx).argmin(1)]
    panels = generation_panels(decoder, samples, shown.tolist(), nearest, classes, ref.c2w[0], ref.focal, ref.height,
                               ref.width, RenderConfig(samples_per_ray=64, estimator="batched"))
    plot_image_grid(panels.images, panels.titles, PATHS.plot("nerf_generation"), ncols=5)
    out = {"n_train": int(len(ty)), "n_test": int(len(sy)), "draws": cfg.draws, "seconds": round(seconds, 1), **scores}
    write_results(PATHS.metrics("nerf_generation"), out)
    print(out)


if __name__ == "__main__":
    run(main)

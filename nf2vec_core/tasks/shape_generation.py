"""Shape generation from the nf2vec latent space (paper 000 §V, Figs. 14-15).

A latent GAN (:mod:`.generation`: WGAN-GP in the whitened principal subspace of the training
embeddings) learns to produce shape embeddings from noise, either one class-conditional GAN for
all classes or, as in the paper (one Latent-GAN per class, after Achlioptas et al.), one GAN per
class (``per_class``). Generated embeddings are decoded by the nf2vec decoder into point clouds
(UDF point clouds; points on the marching-cubes mesh of occupancy/SDF fields, :mod:`.decoded`).

Scores. Each scored set is a *matched draw*: as many shapes of each class as the test split holds
(:func:`matched_indices`). Decoded sets are compared with the test split's ground-truth surfaces by
the point-cloud GAN measures of Achlioptas et al. (:func:`nf2vec_core.metrics.generative.set_measures`:
MMD and coverage with the Chamfer distance, 1-NNA) *within each class*, averaged over the classes
and over ``decode_draws`` draws. The same scores of references put them in scale: a diagonal
Gaussian per class in latent space (:func:`.generation.gaussian_samples`) and the training
embeddings themselves, both decoded (the decoder's own ceiling), and the training shapes'
ground-truth surfaces (the ceiling of the measures at this set size). The embedding-space scores
(:func:`.generation.generation_report`) are cheap and can use many more draws.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..errors import BadInputError, ConfigError
from ..metrics.generative import pairwise_chamfer, set_measures
from ..runtime import torch_threads
from .generation import LatentGan, LatentGanParams, gaussian_samples, subset_draw, train_latent_gan

__all__ = ["ShapeGenerationParams", "PerClassGans", "train_shape_generator", "matched_indices", "embedding_draws",
           "reference_distances", "chamfer_set_scores", "shape_generation_report", "nearest_training"]

SET_NAMES = ("latent_gan", "gaussian_per_class", "train_embeddings")


@dataclass(frozen=True)
class ShapeGenerationParams:
    """A ``shape_generation`` section: the latent GAN(s), decoding and the Chamfer scores."""

    gan: LatentGanParams = field(default_factory=LatentGanParams)
    per_class: bool = False        # one GAN per class (the paper) instead of one class-conditional GAN
    decode_draws: int = 1          # matched draws decoded and scored with Chamfer measures
    n_points: int = 2048           # points of a decoded cloud
    metric_points: int = 512       # of which the Chamfer set measures use (pairs grow with its square)
    resolution: int = 32           # marching-cubes grid of occupancy/SDF decodes (64^3: 8x the decoder's cost)
    figure_per_class: int = 2      # generated samples per class in the figure

    def __post_init__(self) -> None:
        for name in ("decode_draws", "n_points", "metric_points", "figure_per_class"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"shape_generation.{name}: must be >= 1, got {getattr(self, name)}")
        if int(self.resolution) < 2:
            raise ConfigError(f"shape_generation.resolution: must be >= 2, got {self.resolution}")


class PerClassGans:
    """One unconditional latent GAN per class behind the conditional GAN's ``sample(y, generator)``."""

    def __init__(self, gans: dict[int, LatentGan]):
        self.gans = dict(gans)

    @torch.no_grad()
    def sample(self, y: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        y = torch.as_tensor(y).long()
        missing = sorted(set(torch.unique(y).tolist()) - set(self.gans))
        if missing:
            raise BadInputError(None, f"per-class GANs: no GAN of class {missing[0]}")
        d = next(iter(self.gans.values())).mean.shape[0]
        out = torch.empty(len(y), d)
        for c in torch.unique(y).tolist():
            sel = y == c
            out[sel] = self.gans[c].sample(torch.zeros(int(sel.sum()), dtype=torch.long), generator)
        return out


def train_shape_generator(x: torch.Tensor, y: torch.Tensor, num_classes: int, p: ShapeGenerationParams,
                          progress: bool = True) -> tuple[LatentGan | PerClassGans, dict[str, list[float]]]:
    """The conditional GAN, or one GAN per class (seeded ``gan.seed + class``), on the training
    embeddings ``x [N, D]`` of classes ``y [N]``; returns the sampler and the training history
    (for per-class GANs, the mean over the classes of each step's values).

    Trained on one torch thread: the networks are small (a second thread only waits on the first,
    and on a loaded machine much longer) and reruns give the same bytes (:func:`torch_threads`)."""
    x, y = torch.as_tensor(x).float(), torch.as_tensor(y).long()
    with torch_threads(1):
        if not p.per_class:
            return train_latent_gan(x, y, num_classes, p.gan, progress)
        gans, hists = {}, []
        for c in torch.unique(y).tolist():
            xc = x[y == c]
            gans[c], h = train_latent_gan(xc, torch.zeros(len(xc), dtype=torch.long), 1,
                                          replace(p.gan, seed=p.gan.seed + int(c)), progress)
            hists.append(h)
    hist = {k: np.mean([h[k] for h in hists], axis=0).tolist() for k in hists[0]}
    return PerClassGans(gans), hist


def matched_indices(y_pool: torch.Tensor, classes: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Rows of the pool (classes ``y_pool``) matched to ``classes [M]``, drawn as
    :func:`.generation.subset_draw` draws items (the same rows it would return)."""
    n = len(y_pool)
    return subset_draw(torch.arange(n, dtype=torch.float64)[:, None], y_pool, classes, seed)[:, 0].round().long()


def embedding_draws(sampler, tx: torch.Tensor, ty: torch.Tensor, classes: torch.Tensor, draws: int, seed: int = 0
                    ) -> tuple[dict[str, list[torch.Tensor]], list[torch.Tensor]]:
    """``draws`` matched draws of the generator and of the two references (:data:`SET_NAMES`), with
    the training rows each ``train_embeddings`` draw took (to draw the same training shapes)."""
    idx = [matched_indices(ty, classes, seed + r) for r in range(draws)]
    sets = {"latent_gan": [sampler.sample(classes, torch.Generator().manual_seed(seed + r)) for r in range(draws)],
            "gaussian_per_class": [gaussian_samples(tx, ty, classes, seed=seed + r) for r in range(draws)],
            "train_embeddings": [torch.as_tensor(tx).float()[i] for i in idx]}
    return sets, idx


def reference_distances(ref: torch.Tensor, ref_y: torch.Tensor) -> dict[int, torch.Tensor]:
    """Chamfer distances ``[R_c, R_c]`` between the reference clouds of each class ``c``."""
    ref_y = torch.as_tensor(ref_y).long()
    return {c: pairwise_chamfer(ref[ref_y == c], ref[ref_y == c]) for c in torch.unique(ref_y).tolist()}


def chamfer_set_scores(gen: torch.Tensor, gen_y: torch.Tensor, ref: torch.Tensor, ref_y: torch.Tensor,
                       ref_distances: dict[int, torch.Tensor] | None = None) -> dict[str, float]:
    """MMD (Chamfer), coverage and 1-NNA of clouds ``gen [G, P, 3]`` against ``ref [R, P, 3]``,
    within each class of the reference, averaged over its classes (``ref_distances``: those of
    :func:`reference_distances`, when already computed)."""
    gen_y, ref_y = torch.as_tensor(gen_y).long(), torch.as_tensor(ref_y).long()
    d_rr = reference_distances(ref, ref_y) if ref_distances is None else ref_distances
    per = []
    for c in torch.unique(ref_y).tolist():
        g, r = gen[gen_y == c], ref[ref_y == c]
        if len(g) == 0:
            raise BadInputError(None, f"chamfer_set_scores: no generated shape of class {c}")
        per.append(set_measures(pairwise_chamfer(r, g), pairwise_chamfer(g, g), d_rr[c]))
    return {k: float(np.mean([s[k] for s in per])) for k in per[0]}


def shape_generation_report(sets: dict[str, list[torch.Tensor]], ref: torch.Tensor, ref_y: torch.Tensor
                            ) -> dict[str, dict[str, float]]:
    """:func:`chamfer_set_scores` of each named list of draws (clouds ``[R, P, 3]``, row for row of
    the reference's classes ``ref_y``) against the reference clouds ``ref [R, P, 3]``: the mean
    over the draws and its spread (``*_std``)."""
    out: dict[str, dict[str, float]] = {}
    for name, draws in sets.items():
        if not draws or any(d.shape[0] != ref.shape[0] for d in draws):
            raise BadInputError(None, f"shape_generation_report: the draws of {name!r} must each hold "
                                      f"{ref.shape[0]} clouds (one per reference shape)")
    d_rr = reference_distances(ref, ref_y)
    for name, draws in sets.items():
        scores = [chamfer_set_scores(d, ref_y, ref, ref_y, d_rr) for d in draws]
        row = {k: float(np.mean([s[k] for s in scores])) for k in scores[0]}
        row.update({f"{k}_std": float(np.std([s[k] for s in scores])) for k in scores[0]})
        out[name] = row
    return out


def nearest_training(emb: torch.Tensor, tx: torch.Tensor) -> torch.Tensor:
    """Row of the nearest training embedding ``tx [N, D]`` (L2) of each of ``emb [B, D]``."""
    return torch.cdist(torch.as_tensor(emb).float(), torch.as_tensor(tx).float()).argmin(1)

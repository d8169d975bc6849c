"""Decoded embeddings rendered against what they encode (paper 000 Figs. 5, 7-8, 19-21): held-out
views of the input NeRFs vs renders of the nf2vec decoder, latent vs weight interpolation, nearest
neighbours in embedding space, generated embeddings, and shape -> NeRF transferred embeddings. Each
function renders, scores (PSNR on the held-out views) where there is a ground truth, and returns
image panels with titles for :func:`nf2vec_core.viz.plots.plot_image_grid`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

from ..metrics.image import psnr
from ..metrics.retrieval import knn
from ..tasks.reconstruction import spread
from .arch import NerfArch
from .blender import ViewSet
from .encoder import NerfDecoder, render_embeddings
from .render_config import RenderConfig
from .tasks import render_nerf_views

__all__ = ["Panels", "DecodedScores", "decoded_vs_input", "interpolation_panels", "retrieval_panels",
           "generation_panels", "transfer_panels"]


@dataclass
class Panels:
    """Images ``[H, W, 3]`` in ``[0, 1]`` and one title each, row-major for an image grid."""

    images: list[torch.Tensor] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)

    def add(self, images: Sequence[torch.Tensor], titles: Sequence[str]) -> None:
        self.images += list(images)
        self.titles += list(titles)


@dataclass
class DecodedScores:
    """Per-object mean PSNR over the held-out views: the decoded embedding, the input NeRF, and the
    trivial render (the background alone)."""

    decoded: list[float]
    nerf: list[float]
    blank: list[float]

    def means(self) -> dict[str, float]:
        return {f"test_{k}_psnr": sum(v) / len(v) for k, v in
                (("decoded", self.decoded), ("nerf", self.nerf), ("blank", self.blank))}


def decoded_vs_input(decoder: NerfDecoder, arch: NerfArch, emb: torch.Tensor, theta: torch.Tensor,
                     views: Sequence[ViewSet], ids: Sequence[str], render: RenderConfig, *, shown: int = 4
                     ) -> tuple[DecodedScores, Panels]:
    """Fig. 5: each object's held-out views ``views[j]`` rendered from its NeRF ``theta[j]`` and from
    the decoder conditioned on its embedding ``emb[j]``, scored against the views; panels of
    ``shown`` objects spread over the list (two views each: ground truth, NeRF, decoder)."""
    decoded, nerf, blank = [], [], []
    panels = Panels()
    shown_rows = set(spread(list(range(len(views))), shown))
    for j, v in enumerate(views):
        dec = render_embeddings(decoder, emb[j:j + 1], v.c2w.unsqueeze(0), v.focal, v.height, v.width, render)[0]
        ner = render_nerf_views(arch, theta[j:j + 1], v.c2w, v.focal, v.height, v.width, render)[0]
        decoded.append(float(psnr(dec.clamp(0, 1), v.rgb).mean()))
        nerf.append(float(psnr(ner, v.rgb).mean()))
        blank.append(float(psnr(torch.ones_like(v.rgb), v.rgb).mean()))
        if j in shown_rows:
            for k in sorted({0, v.n_views // 2}):
                panels.add([v.rgb[k], ner[k], dec[k].clamp(0, 1)],
                           [f"{ids[j]}, view {k}", "input NeRF", "nf2vec decoder"])
    return DecodedScores(decoded, nerf, blank), panels


def interpolation_panels(decoder: NerfDecoder, arch: NerfArch, emb: torch.Tensor, theta: torch.Tensor,
                         view: ViewSet, render: RenderConfig, *, steps: int = 5, n_views: int = 3) -> Panels:
    """Figs. 7-8: ``steps`` points between two objects (``emb/theta [2, ...]``), decoded from the
    interpolated embeddings and rendered from the interpolated NeRF weights, at the first ``n_views``
    poses of ``view``; per pose a row of latent renders, then a row of weight renders."""
    al = torch.linspace(0, 1, steps).unsqueeze(1)
    poses = view.c2w[:n_views]
    lat = render_embeddings(decoder, (1 - al) * emb[0] + al * emb[1], poses.unsqueeze(0).expand(steps, -1, -1, -1),
                            view.focal, view.height, view.width, render).clamp(0, 1)          # [steps, V, H, W, 3]
    wts = render_nerf_views(arch, (1 - al) * theta[0] + al * theta[1], poses, view.focal, view.height, view.width,
                            render)
    panels = Panels()
    ts = al[:, 0].tolist()
    for k in range(poses.shape[0]):
        panels.add([*lat[:, k], *wts[:, k]], [f"nf2vec latent, t={t:.2f}, view {k}" for t in ts]
                   + [f"NeRF weights, t={t:.2f}, view {k}" for t in ts])
    return panels


def retrieval_panels(arch: NerfArch, theta: torch.Tensor, emb: torch.Tensor, labels: Sequence[int],
                     class_names: Sequence[str], c2w: torch.Tensor, focal: float, height: int, width: int,
                     render: RenderConfig, *, queries: int = 4, k: int = 4) -> Panels:
    """Fig. 19: ``queries`` NeRFs spread over the list and their ``k`` nearest neighbours by the L2
    distance of their embeddings ``emb`` (the query itself excluded), each rendered from its NeRF
    ``theta`` at pose ``c2w [4, 4]``; a row a query, titled with the classes (a neighbour of another
    class than the query is marked)."""
    k = min(k, len(emb) - 1)
    rows = spread(list(range(len(emb))), queries)
    nn_idx = knn(emb[rows], emb, k + 1)                # the query is its own nearest item (distance 0)
    panels = Panels()
    for q, nbrs in zip(rows, nn_idx.tolist()):
        order = [q] + [j for j in nbrs if j != q][:k]
        imgs = render_nerf_views(arch, theta[order], c2w.unsqueeze(0), focal, height, width, render)[:, 0]
        name = class_names[labels[q]]
        panels.add(list(imgs), [f"query: {name}"] + [
            f"#{r}: {class_names[labels[j]]}" + ("" if labels[j] == labels[q] else " (other class)")
            for r, j in enumerate(order[1:], 1)])
    return panels


def generation_panels(decoder: NerfDecoder, samples: torch.Tensor, sample_classes: Sequence[int],
                      nearest: torch.Tensor, class_names: Sequence[str], c2w: torch.Tensor, focal: float,
                      height: int, width: int, render: RenderConfig, *, per_class: int = 4) -> Panels:
    """Fig. 20: generated embeddings ``samples [G, D]`` decoded and rendered at pose ``c2w``, the
    first ``per_class`` of each class in a row, ended by the decoded *training* embedding nearest to
    the row's first sample (``nearest [G, D]``, matched to ``samples``): a copy would look the same."""
    sample_classes = list(sample_classes)
    panels = Panels()
    for c in sorted(set(sample_classes)):
        rows = [i for i, s in enumerate(sample_classes) if s == c][:per_class]
        emb = torch.cat([samples[rows], nearest[rows[:1]]])
        imgs = render_embeddings(decoder, emb, c2w.view(1, 1, 4, 4).expand(len(emb), -1, -1, -1), focal, height,
                                 width, render)[:, 0].clamp(0, 1)
        panels.add(list(imgs), [f"generated {class_names[c]} {r + 1}" for r in range(len(rows))]
                   + ["nearest training item"])
    return panels


def transfer_panels(decoder: NerfDecoder, mapped: torch.Tensor, own: torch.Tensor, views: Sequence[ViewSet],
                    ids: Sequence[str], render: RenderConfig, *, shown: int = 4
                    ) -> tuple[list[float], list[float], Panels]:
    """Fig. 21: embeddings ``mapped`` from another representation and each object's ``own`` NeRF
    embedding, decoded and rendered at its held-out views: PSNR of each (per object) and panels of the
    first ``shown`` objects (ground truth, own embedding, mapped embedding)."""
    p_map, p_own = [], []
    panels = Panels()
    for j, v in enumerate(views):
        both = render_embeddings(decoder, torch.stack([mapped[j], own[j]]), v.c2w.unsqueeze(0).expand(2, -1, -1, -1),
                                 v.focal, v.height, v.width, render).clamp(0, 1)
        p_map.append(float(psnr(both[0], v.rgb).mean()))
        p_own.append(float(psnr(both[1], v.rgb).mean()))
        if j < shown:
            panels.add([v.rgb[0], both[1, 0], both[0, 0]],
                       [f"ground truth {ids[j]}", "decoded NeRF embedding", "transferred from shape NF"])
    return p_map, p_own, panels

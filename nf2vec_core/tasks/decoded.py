"""Point clouds of embeddings through the nf2vec decoder, a batch of embeddings at a time: UDF
point clouds, or points sampled on the marching-cubes mesh of an occupancy/SDF field
(:func:`nf2vec_core.tasks.reconstruction.clouds_from_field`). Generated shapes and completions
are scored on these clouds."""
from __future__ import annotations

import numpy as np
import torch
from tqdm import tqdm

from ..decoders.implicit import ImplicitDecoder
from ..decoders.reconstruct import decoder_field_fn
from .reconstruction import ReconstructParams, clouds_from_field

__all__ = ["decode_clouds", "subsample_clouds"]


@torch.no_grad()
def decode_clouds(decoder: ImplicitDecoder, emb: torch.Tensor, kind: str, clip: float, n_points: int,
                  resolution: int, level: float | None = None, batch: int = 8, progress: bool = False,
                  desc: str = "decode embeddings") -> torch.Tensor:
    """Clouds ``[B, n_points, 3]`` of embeddings ``emb [B, D]`` (meshes at ``level``, by default
    the field's natural level; a field with no surface gives a cloud of zeros)."""
    p = ReconstructParams(n_points=n_points, resolution=resolution)
    decoder.eval()
    out: list[np.ndarray] = []
    for a in tqdm(range(0, emb.shape[0], batch), desc=desc, unit="batch", disable=not progress):
        e = emb[a:a + batch]
        out += clouds_from_field(decoder_field_fn(decoder, e, kind, clip), e.shape[0], kind, p, level)
    return torch.as_tensor(np.stack(out)) if out else torch.zeros(0, n_points, 3)


def subsample_clouds(clouds: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """The same ``n`` (seeded) point positions of every cloud ``[B, P, 3]`` (all when ``n >= P``)."""
    if n >= clouds.shape[1]:
        return clouds
    return clouds[:, torch.randperm(clouds.shape[1], generator=torch.Generator().manual_seed(seed))[:n]]

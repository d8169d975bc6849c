"""PointNet part-segmentation baseline (Qi et al., CVPR 2017, Fig. 2 segmentation network; paper
000 Table IV), trained on the same points and splits as the embedding part decoder.

Network: the classification branch's shared MLP of :mod:`.pointnet` split after its second layer,
``3 -> 64 -> 64`` (per-point features) ``-> 64 -> 128 -> 1024`` and max-pooled (global feature);
each point's 64-d feature is concatenated with the global feature and the class one-hot
(``64 + 1024 + C``, the ShapeNet-Part variant conditions on the category) and a shared MLP
``512 -> 256 -> 128`` (``Conv1d -> BN -> ReLU``) and a linear layer give one logit per global part.
The optional 3x3 input T-Net is the classifier's.

Training: the shared loop of :func:`nf2vec_core.tasks.segmentation.train_segmenter` with the
classifier's augmentation (random anisotropic scaling and clipped jitter,
:func:`~nf2vec_core.tasks.pointnet.augment_point_clouds`); the part labels of a point do not change.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data.parts import PartTaxonomy
from ..errors import BadInputError, ConfigError
from .pointnet import InputTNet, augment_point_clouds
from .pointnet import _conv_bn as shared_mlp  # the classifier's per-point Conv1d-BN-ReLU stack
from .segmentation import BatchTransform, PartSplit, SegTrainConfig, train_segmenter


@dataclass(frozen=True)
class PointNetSegConfig(SegTrainConfig):
    """PointNet segmentation options: the shared training options, the input T-Net and the
    augmentation of :class:`~nf2vec_core.tasks.pointnet.PointNetConfig`."""

    input_transform: bool = False
    scale_low: float = 0.8
    scale_high: float = 1.25
    jitter_sigma: float = 0.01
    jitter_clip: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < float(self.scale_low) <= float(self.scale_high):
            raise ConfigError(f"pointnet_seg: need 0 < scale_low <= scale_high, got {self.scale_low}, {self.scale_high}")
        if float(self.jitter_sigma) < 0 or float(self.jitter_clip) < 0:
            raise ConfigError("pointnet_seg: jitter_sigma and jitter_clip must be >= 0")


class PointNetPartSegmenter(nn.Module):
    """``forward(points [B,P,3], class_ids [B], embeddings=None) -> logits [B,P,K]`` (any ``P``;
    embeddings are ignored: the signature is the part decoder's)."""

    def __init__(self, num_categories: int, num_parts: int, input_transform: bool = False) -> None:
        super().__init__()
        if num_categories < 1 or num_parts < 2:
            raise ConfigError(f"pointnet_seg: need num_categories >= 1 and num_parts >= 2, got "
                              f"{num_categories}, {num_parts}")
        self.num_categories, self.num_parts = int(num_categories), int(num_parts)
        self.tnet = InputTNet() if input_transform else None
        self.local = shared_mlp([3, 64, 64])
        self.glob = shared_mlp([64, 64, 128, 1024])
        self.head = nn.Sequential(shared_mlp([64 + 1024 + self.num_categories, 512, 256, 128]),
                                  nn.Conv1d(128, self.num_parts, 1))

    def forward(self, points: torch.Tensor, class_ids: torch.Tensor,
                embeddings: torch.Tensor | None = None) -> torch.Tensor:
        if points.ndim != 3 or points.shape[-1] != 3:
            raise BadInputError(None, f"pointnet_seg: expected points [B, P, 3], got {tuple(points.shape)}")
        x = points.transpose(1, 2)                        # [B, 3, P]
        if self.tnet is not None:
            x = torch.bmm(self.tnet(x).transpose(1, 2), x)
        local = self.local(x)                             # [B, 64, P]
        glob = self.glob(local).amax(dim=2)               # [B, 1024]
        cond = torch.cat([glob, F.one_hot(class_ids.long(), self.num_categories).to(glob)], dim=1)
        h = torch.cat([local, cond[:, :, None].expand(-1, -1, local.shape[2])], dim=1)
        return self.head(h).transpose(1, 2)               # [B, P, K]


def augment_parts(cfg: PointNetSegConfig) -> BatchTransform:
    """The batch transform applying the classifier's scaling and jitter to a batch's points."""
    def transform(b: PartSplit, gen: torch.Generator) -> PartSplit:
        pts = augment_point_clouds(b.points, gen, cfg.scale_low, cfg.scale_high, cfg.jitter_sigma, cfg.jitter_clip)
        return PartSplit(pts, b.labels, b.class_ids, b.embeddings)
    return transform


def train_pointnet_seg(train: PartSplit, val: PartSplit, taxonomy: PartTaxonomy, cfg: PointNetSegConfig,
                       device: str | torch.device | None = None,
                       progress: bool = True) -> tuple[PointNetPartSegmenter, dict[str, list[float]]]:
    """Train the PointNet segmenter on the points of ``train`` (embeddings unused), selected on
    ``val`` by ``cfg.select`` (:func:`~nf2vec_core.tasks.segmentation.train_segmenter`)."""
    def build() -> PointNetPartSegmenter:
        return PointNetPartSegmenter(taxonomy.num_categories, taxonomy.num_parts, cfg.input_transform)
    return train_segmenter(build, train, val, taxonomy, cfg, augment_parts(cfg), device, "pointnet seg", progress)


__all__ = ["PointNetSegConfig", "PointNetPartSegmenter", "augment_parts", "train_pointnet_seg"]

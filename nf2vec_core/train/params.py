"""The ``encoder`` section of params.yaml and the configs it builds (the ``decoder`` section is
:class:`nf2vec_core.decoders.implicit.ImplicitDecoderConfig` itself)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..encoders.rows import RowEncoderConfig
from ..errors import ConfigError
from .losses import LossConfig
from .trainer import TrainConfig


@dataclass(frozen=True)
class EncoderParams:
    """Encoder architecture and the encoder-decoder training (``dvc exp run -S encoder.lr=...``).

    ``hidden`` are the per-row Linear+BN+ReLU widths before the embedding layer (paper 000:
    512, 512, 1024, 1024 and a 1024-d embedding).
    """

    hidden: tuple[int, ...] = (512, 512, 1024, 1024)
    embed_dim: int = 1024
    include_input: bool = False
    include_output: bool = False
    row_positions: bool = False        # learned per-row vectors (not in the paper; see RowEncoderConfig)
    lr: float = 1e-4
    weight_decay: float = 1e-2
    epochs: int = 100
    batch_size: int = 16
    queries_per_item: int = 4096
    grid_queries: int = 4096           # occupancy: voxel centres in each item's query pool ...
    surface_fraction: float = 0.5      # ... this share of them on the boundary voxels, the rest uniform
    offgrid: bool = True               # occupancy: also the prepared uniform off-grid points
    schedule: Literal["onecycle", "cosine", "constant"] = "onecycle"
    occupancy_loss: Literal["bce", "focal"] = "bce"
    row_noise: float = 0.0             # weight-space augmentation (not in the paper; see TrainConfig)
    contrastive: float = 0.0           # weight of a SigLIP term between two row-noise views (paper 003; see TrainConfig)
    view_pairs: bool = False           # SigLIP positives = other fits of the same item (the views stage; TrainConfig)
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.surface_fraction) <= 1.0:
            raise ConfigError(f"encoder.surface_fraction: must be in [0, 1], got {self.surface_fraction}")

    def encoder_config(self) -> RowEncoderConfig:
        return RowEncoderConfig(hidden=tuple(self.hidden), embed_dim=self.embed_dim,
                                include_input=self.include_input, include_output=self.include_output,
                                row_positions=self.row_positions)

    def train_config(self, clip: float) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                           weight_decay=self.weight_decay, queries_per_item=self.queries_per_item,
                           seed=self.seed, schedule=self.schedule, row_noise=self.row_noise,
                           contrastive=self.contrastive, view_pairs=self.view_pairs,
                           loss=LossConfig(clip=clip, occupancy_loss=self.occupancy_loss))

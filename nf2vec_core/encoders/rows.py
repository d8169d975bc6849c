"""The nf2vec encoder (paper 000 §III, Fig. 2): a per-row MLP over the stacked NF layers + max-pool.

The input is the matrix of :func:`nf2vec_core.nf.functional.stack_rows` — every linear layer
``W [out,in], b [out]`` of the NF becomes ``[W^T; b^T]`` and the blocks are stacked into
``[B, S, H]`` (``H`` = hidden width of the NF). Each row is processed independently by a stack of
``Linear -> BatchNorm1d -> ReLU`` layers (batch-norm statistics over all rows of all NFs of the
batch, as a 1x1 ``Conv1d`` + ``BatchNorm1d`` would), then a max-pool over the rows gives one
embedding ``[B, embed_dim]`` per NF. The encoder is independent of the number of rows, so its size
depends only on ``H`` (paper 000 Table I).

Paper 000 §V "General settings": layers of 512, 512, 1024 and 1024 features, embeddings of 1024
values (see :class:`RowEncoderConfig` for the layer count), SIREN input and output layers
discarded (``include_input=False``, ``include_output=False``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from ..errors import ConfigError
from ..nf.functional import stack_rows
from ..nf.layout import ArchSpec


@dataclass(frozen=True)
class RowEncoderConfig:
    """Widths of the per-row layers and the embedding size.

    The per-row layers have the widths ``hidden`` and a last layer maps to ``embed_dim`` (also
    Linear + BatchNorm + ReLU, before the max-pool). Paper 000 §V lists "four linear layers with
    512, 512, 1024 and 1024 features, embeddings with 1024 values"; its Table I (~3M encoder
    parameters for H=512 NFs, ~3.5M for H=1024) counts five linear layers, 512-512-1024-1024 and
    the 1024 embedding layer (3.15M / 3.41M; four layers would give 2.1M / 2.4M), as in the
    reference inr2vec code, so the embedding layer comes after ``hidden``.
    ``include_input`` / ``include_output`` choose which NF layers are stacked.

    ``row_positions`` (not in the paper; off by default) adds a learned vector per row index to
    the first layer's output, before its BatchNorm. The max-pool then no longer forgets which
    row a feature came from. With a shared initialisation the neurons of all NFs are aligned (row
    ``s`` plays the same role in every NF), and small NFs (e.g. SIREN 3×32: 70 rows) carry too
    few rows for a permutation-invariant pool to keep what tells the classes apart; see the
    README for the measured effect.
    """

    hidden: tuple[int, ...] = (512, 512, 1024, 1024)
    embed_dim: int = 1024
    include_input: bool = False
    include_output: bool = False
    row_positions: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if any(h < 1 for h in self.hidden) or int(self.embed_dim) < 1:
            raise ConfigError(f"encoder: widths must be >= 1, got hidden={self.hidden}, "
                              f"embed_dim={self.embed_dim}")

    @property
    def widths(self) -> tuple[int, ...]:
        """Output width of every per-row layer: ``(*hidden, embed_dim)``."""
        return (*self.hidden, int(self.embed_dim))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RowEncoderConfig":
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class RowEncoder(nn.Module):
    """``rows [B, S, in_features] -> embeddings [B, embed_dim]`` (per-row MLP, max over rows)."""

    def __init__(self, in_features: int, cfg: RowEncoderConfig | None = None, num_rows: int | None = None):
        super().__init__()
        self.cfg = cfg or RowEncoderConfig()
        self.in_features = int(in_features)
        self.num_rows = None if num_rows is None else int(num_rows)
        if self.cfg.row_positions:
            if not self.num_rows or self.num_rows < 1:
                raise ConfigError("encoder.row_positions: the encoder needs the number of rows (num_rows)")
            self.row_embedding = nn.Parameter(torch.zeros(self.num_rows, self.cfg.widths[0]))
        layers: list[nn.Module] = []
        fan_in = self.in_features
        for width in self.cfg.widths:
            layers += [nn.Linear(fan_in, width), nn.BatchNorm1d(width), nn.ReLU(inplace=True)]
            fan_in = width
        self.layers = nn.Sequential(*layers)

    @property
    def embed_dim(self) -> int:
        return self.cfg.widths[-1]

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        """Embed ``rows [B, S, H]`` (float) into ``[B, embed_dim]``."""
        if rows.dim() != 3 or rows.shape[-1] != self.in_features:
            raise ValueError(f"RowEncoder: expected rows [B, S, {self.in_features}], got {tuple(rows.shape)}")
        b, s, h = rows.shape
        if not self.cfg.row_positions:
            z = self.layers(rows.reshape(b * s, h))  # BatchNorm over every row of every NF
            return z.reshape(b, s, -1).amax(dim=1)
        if s != self.num_rows:
            raise ValueError(f"RowEncoder: built for {self.num_rows} rows (row_positions), got {s}")
        z = (self.layers[0](rows) + self.row_embedding).reshape(b * s, -1)
        z = self.layers[1:](z)
        return z.reshape(b, s, -1).amax(dim=1)

    def rows(self, spec: ArchSpec, theta: torch.Tensor) -> torch.Tensor:
        """The encoder input of NFs ``theta [N, P]``: ``stack_rows`` with this encoder's layer choice."""
        return stack_rows(spec, theta, include_input=self.cfg.include_input,
                          include_output=self.cfg.include_output)


def num_rows(spec: ArchSpec, cfg: RowEncoderConfig) -> int:
    """Rows ``S`` of the encoder input of one NF of ``spec`` (with ``cfg``'s layer choice)."""
    return int(stack_rows(spec, torch.zeros(1, spec.num_params), include_input=cfg.include_input,
                          include_output=cfg.include_output).shape[1])


@torch.no_grad()
def encode(encoder: RowEncoder, spec: ArchSpec, theta: torch.Tensor, batch_size: int = 256,
           device: torch.device | str | None = None, progress: bool = False) -> torch.Tensor:
    """Embeddings ``[N, D]`` (on ``theta``'s device) of NFs ``theta [N, P]``, in eval mode, batched.

    ``device`` is where the encoder runs (default: the encoder's own device); the encoder's
    train/eval mode is restored afterwards.
    """
    if theta.dim() != 2:
        raise ValueError(f"encode: theta must be [N, P], got {tuple(theta.shape)}")
    if batch_size < 1:
        raise ValueError(f"encode: batch_size must be >= 1, got {batch_size}")
    dev = torch.device(device) if device is not None else next(encoder.parameters()).device
    was_training = encoder.training
    encoder.eval()
    try:
        out = []
        starts = range(0, theta.shape[0], batch_size)
        for i in tqdm(starts, desc="encode", disable=not progress):
            chunk = theta[i:i + batch_size].to(dev, torch.float32)
            out.append(encoder(encoder.rows(spec, chunk)).to(theta.device))
        if not out:
            return theta.new_zeros((0, encoder.embed_dim))
        return torch.cat(out)
    finally:
        encoder.train(was_training)

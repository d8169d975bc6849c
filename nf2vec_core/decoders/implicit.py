"""The nf2vec implicit decoder (paper 000 §III "Decoder", after DeepSDF): ``(embedding, p) -> f(p)``.

The query point is positional-encoded NeRF-style, ``PE(x) = [x, sin(2^k pi x), cos(2^k pi x)]``
for ``k = 0..pe_freqs-1``, concatenated with the embedding and fed to an MLP of ``layers`` ReLU
layers of width ``hidden``; with ``skip`` the input ``[PE(x), emb]`` is concatenated again to the
input of layer ``layers // 2`` (DeepSDF). The last linear layer outputs raw values (logits for
occupancy/UDF, the SDF, intensities): :func:`nf2vec_core.fields.kinds.field_prediction` maps them
to field values. Paper 000 §V: 5 hidden layers of 512 features (doubled for NeRFs).

Efficiency: a linear layer over ``[PE(x), emb]`` is split into ``W_x PE(x) + W_e emb``; the
embedding term is computed once per shape (``[B, hidden]``) and broadcast over its ``M`` queries,
so many queries per embedding cost no more than a decoder without the embedding input.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from ..errors import ConfigError


@dataclass(frozen=True)
class ImplicitDecoderConfig:
    """Decoder width/depth, positional-encoding frequencies (0 = raw coordinates) and skip."""

    hidden: int = 512
    layers: int = 5
    pe_freqs: int = 8
    skip: bool = True

    def __post_init__(self) -> None:
        if int(self.hidden) < 1 or int(self.layers) < 1 or int(self.pe_freqs) < 0:
            raise ConfigError(f"decoder: need hidden >= 1, layers >= 1, pe_freqs >= 0; got {self}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ImplicitDecoderConfig":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def positional_encoding(x: torch.Tensor, n_freqs: int) -> torch.Tensor:
    """``x [..., d] -> [..., d * (1 + 2 n_freqs)]``: ``[x, sin(2^k pi x)..., cos(2^k pi x)...]``."""
    if n_freqs == 0:
        return x
    freqs = (2.0 ** torch.arange(n_freqs, device=x.device, dtype=x.dtype)) * math.pi
    z = (x.unsqueeze(-1) * freqs).flatten(-2)  # [..., d*F]
    return torch.cat([x, torch.sin(z), torch.cos(z)], dim=-1)


class _CondLinear(nn.Module):
    """Linear layer over ``[h, PE(x), emb]`` with the embedding part computed once per shape."""

    def __init__(self, in_h: int, in_pe: int, in_emb: int, out: int):
        super().__init__()
        self.lin = nn.Linear(in_h + in_pe, out)
        self.emb = nn.Linear(in_emb, out, bias=False)

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        return self.lin(h) + self.emb(emb).unsqueeze(-2)


class ImplicitDecoder(nn.Module):
    """``forward(emb [B, D], x [B, M, in_dim] or [M, in_dim]) -> [B, M, out_dim]`` raw outputs."""

    def __init__(self, embed_dim: int, in_dim: int = 3, out_dim: int = 1,
                 cfg: ImplicitDecoderConfig | None = None):
        super().__init__()
        self.cfg = cfg or ImplicitDecoderConfig()
        self.embed_dim, self.in_dim, self.out_dim = int(embed_dim), int(in_dim), int(out_dim)
        c = self.cfg
        pe_dim = self.in_dim * (1 + 2 * c.pe_freqs)
        self.skip_at = c.layers // 2 if (c.skip and c.layers >= 2) else -1
        blocks: list[nn.Module] = []
        for i in range(c.layers):
            if i == 0:
                blocks.append(_CondLinear(0, pe_dim, self.embed_dim, c.hidden))
            elif i == self.skip_at:
                blocks.append(_CondLinear(c.hidden, pe_dim, self.embed_dim, c.hidden))
            else:
                blocks.append(nn.Linear(c.hidden, c.hidden))
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Linear(c.hidden, self.out_dim)

    def forward(self, emb: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if emb.dim() != 2 or emb.shape[-1] != self.embed_dim:
            raise ValueError(f"ImplicitDecoder: emb must be [B, {self.embed_dim}], got {tuple(emb.shape)}")
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(emb.shape[0], -1, -1)
        if x.dim() != 3 or x.shape[0] != emb.shape[0] or x.shape[-1] != self.in_dim:
            raise ValueError(f"ImplicitDecoder: x must be [B={emb.shape[0]}, M, {self.in_dim}], "
                             f"got {tuple(x.shape)}")
        pe = positional_encoding(x.to(emb.dtype), self.cfg.pe_freqs)
        h = pe.new_zeros((*pe.shape[:-1], 0))
        for i, block in enumerate(self.blocks):
            if isinstance(block, _CondLinear):
                h = block(torch.cat([h, pe], dim=-1), emb)
            else:
                h = block(h)
            h = torch.relu(h)
        return self.out(h)

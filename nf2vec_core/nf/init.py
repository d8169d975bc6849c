"""Initialisation of NF parameter vectors: per-family schemes, shared or per-NF (random) draws.

Schemes (paper 004 supplementary §2):

* SIREN (Sitzmann et al. 2020): first layer ``U(-1/in, 1/in)``; other layers
  ``U(-sqrt(6/in)/w0, sqrt(6/in)/w0)``; biases ``U(-1/sqrt(in), 1/sqrt(in))`` (PyTorch default).
* RFFNet: Fourier matrix ``B ~ N(0, I)``; linear layers Kaiming-uniform ``U(-sqrt(6/in), sqrt(6/in))``.
* MFN: linear layers ``U(-sqrt(1/in), sqrt(1/in))`` (Fathony et al. 2021); filter weights ``U(-sqrt(s/depth), sqrt(s/depth))``
  with input scale ``s`` (``mfn_scale``), filter phases ``U(-pi, pi)``.

``shared`` mode draws ONE vector from the seed and repeats it for every NF of the dataset (the
practice paper 000 §VIII and paper 004 §4 show is needed for learning on weights); ``random`` mode
draws an independent vector per NF from ``(seed, nf_index)`` (the baseline of paper 004 Table 1).
"""
from __future__ import annotations

import math

import torch

from .layout import ArchSpec


def _uniform(gen: torch.Generator, shape: tuple[int, ...], bound: float) -> torch.Tensor:
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1).mul_(bound).float()


def init_vector(spec: ArchSpec, seed: int) -> torch.Tensor:
    """One parameter vector ``[P]`` (float32, CPU) drawn deterministically from ``seed``."""
    gen = torch.Generator().manual_seed(int(seed))
    parts: list[torch.Tensor] = []
    for t in spec.tensors():
        layer, kind = t.name.rsplit(".", 1)
        fan_in = t.shape[-1] if kind == "weight" else None
        if t.name == "fourier.weight":
            parts.append(torch.randn(t.shape, generator=gen, dtype=torch.float64).float())
            continue
        if kind == "bias":
            fan_in = spec.tensor(f"{layer}.weight").shape[-1]
            if layer.startswith("filter"):
                parts.append(_uniform(gen, t.shape, math.pi))
            else:
                parts.append(_uniform(gen, t.shape, 1.0 / math.sqrt(fan_in)))
            continue
        assert fan_in is not None
        if spec.family == "siren":
            bound = 1.0 / fan_in if layer == "l0" else math.sqrt(6.0 / fan_in) / spec.w0
        elif spec.family == "rffnet":
            bound = math.sqrt(6.0 / fan_in)
        elif layer.startswith("filter"):
            bound = math.sqrt(spec.mfn_scale / spec.depth)
        else:
            bound = math.sqrt(1.0 / fan_in)  # MFN linear layers (Fathony et al.): U(+-sqrt(1/hidden))
        parts.append(_uniform(gen, t.shape, bound))
    return torch.cat([p.reshape(-1) for p in parts])


def init_batch(spec: ArchSpec, n: int, *, mode: str, seed: int, start_index: int = 0) -> torch.Tensor:
    """Initial vectors ``[n, P]`` for NFs ``start_index .. start_index+n-1`` of a dataset.

    ``mode="shared"``: the same vector (from ``seed``) for all; ``mode="random"``: vector ``i``
    drawn from a seed derived from ``(seed, start_index + i)``, so chunks and resumed runs agree.
    """
    if mode == "shared":
        return init_vector(spec, seed).unsqueeze(0).repeat(n, 1)
    if mode == "random":
        return torch.stack([init_vector(spec, _derive(seed, start_index + i)) for i in range(n)])
    raise ValueError(f"fit.init: unknown init mode {mode!r}; expected 'shared' or 'random'")


def _derive(seed: int, index: int) -> int:
    """A per-item seed, stable across runs and chunkings (splitmix-style hash of seed and index)."""
    z = (int(seed) * 0x9E3779B97F4A7C15 + int(index) + 1) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (z ^ (z >> 31)) & 0x7FFFFFFFFFFFFFFF

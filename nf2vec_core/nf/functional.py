"""Batched, functional forward passes of NF families over flat parameter vectors.

``forward(spec, theta, x)`` evaluates ``N`` NFs at once: ``theta`` is ``[N, P]`` (the layout of
:mod:`nf2vec_core.nf.layout`), ``x`` is ``[N, M, in_dim]`` (each NF its own points) or
``[M, in_dim]`` (the same points for every NF, e.g. all pixels of an image dataset). The result is
``[N, M, out_dim]``. Every op is a batched matmul or an elementwise op, so this is the autograd
reference path; the fitting engine has a hand-fused SIREN path tested against it.
"""
from __future__ import annotations

import torch

from .layout import ArchSpec


def unflatten(spec: ArchSpec, theta: torch.Tensor) -> dict[str, torch.Tensor]:
    """Views of ``theta [N, P]`` (or ``[P]``) as named tensors ``[N, *shape]`` (no copy)."""
    lead = theta.shape[:-1]
    if theta.shape[-1] != spec.num_params:
        raise ValueError(f"parameter vector has {theta.shape[-1]} entries, architecture "
                         f"{spec.family} {spec.depth}x{spec.hidden} expects {spec.num_params}")
    return {t.name: theta[..., t.offset:t.stop].reshape(*lead, *t.shape) for t in spec.tensors()}


def linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``x @ w^T + b`` batched over NFs: x ``[N,M,i]`` or ``[M,i]``, w ``[N,o,i]``, b ``[N,o]``."""
    return torch.baddbmm(b.unsqueeze(-2), x.expand(w.shape[0], *x.shape[-2:]), w.transpose(-1, -2))


def forward(spec: ArchSpec, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Evaluate ``N`` NFs: ``theta [N,P]``, ``x [N,M,d]`` or ``[M,d]`` -> ``[N,M,out_dim]``."""
    p = unflatten(spec, theta)
    if spec.family == "siren":
        h = torch.sin(spec.w0_first * linear(x, p["l0.weight"], p["l0.bias"]))
        for i in range(1, spec.depth):
            h = torch.sin(spec.w0 * linear(h, p[f"l{i}.weight"], p[f"l{i}.bias"]))
        return linear(h, p["out.weight"], p["out.bias"])
    if spec.family == "rffnet":
        bmat = p["fourier.weight"]
        z = spec.rff_std * torch.matmul(x.expand(bmat.shape[0], *x.shape[-2:]), bmat.transpose(-1, -2))
        h = torch.cat([torch.sin(z), torch.cos(z)], dim=-1)
        for i in range(spec.depth):
            h = torch.relu(linear(h, p[f"l{i}.weight"], p[f"l{i}.bias"]))
        return linear(h, p["out.weight"], p["out.bias"])
    # mfn
    z = torch.sin(linear(x, p["filter0.weight"], p["filter0.bias"]))
    for i in range(1, spec.depth):
        g = torch.sin(linear(x, p[f"filter{i}.weight"], p[f"filter{i}.bias"]))
        z = linear(z, p[f"l{i - 1}.weight"], p[f"l{i - 1}.bias"]) * g
    return linear(z, p["out.weight"], p["out.bias"])


def stack_rows(spec: ArchSpec, theta: torch.Tensor, *, include_input: bool = False,
               include_output: bool = False) -> torch.Tensor:
    """The nf2vec encoder input (paper 000 §III): layers stacked into one matrix of rows.

    Each linear layer ``W [out,in], b [out]`` becomes ``P = [W^T; b^T]`` of shape ``[in+1, out]``
    (one row per input unit plus the bias row). Hidden layers have ``out = hidden``; the input
    layer (``in = in_dim``) and the output layer (``out = out_dim``, zero-padded to ``hidden``
    columns) are optional — dropped by default, as paper 000 does for SIREN. MFN filters count as
    input layers. Returns ``[N, S, hidden]``.
    """
    p = unflatten(spec, theta)
    blocks = []
    for name, fan_in, fan_out in spec.linear_layers():
        is_input = name.startswith("filter") or (name == "l0" and spec.family == "siren")
        is_output = name == "out"
        if (is_input and not include_input) or (is_output and not include_output):
            continue
        w, b = p[f"{name}.weight"], p[f"{name}.bias"]
        block = torch.cat([w.transpose(-1, -2), b.unsqueeze(-2)], dim=-2)  # [N, in+1, out]
        if fan_out < spec.hidden:
            block = torch.nn.functional.pad(block, (0, spec.hidden - fan_out))
        blocks.append(block)
    if not blocks:
        raise ValueError("stack_rows: no layer left to stack (depth 1 with input/output dropped)")
    return torch.cat(blocks, dim=-2)

"""The batched fitting engine: many NFs, one shared init, fitted at once (paper 004 §3).

The NFs of a chunk are optimised together: their parameters are one ``[n, P]`` tensor, every layer
is a batched matmul over the ``n`` NFs, and Adam runs on the whole tensor at once. Two backends:

* ``fused``: SIREN only. Forward and backward are written out by hand (``baddbmm``/``bmm`` and
  in-place elementwise ops; the loss gradient is closed-form), with no autograd graph: about 3-4x
  fewer passes over memory than autograd and no per-op bookkeeping. :func:`siren_loss_and_grad`
  is the readable version; the engine runs :func:`.fast_siren.fast_siren_loss_and_grad`, the same
  maths with ``w0`` folded into the weights, one compiled sin+cos kernel per layer and reused
  buffers (about 2x faster on CPU).
* ``autograd``: any family, through :func:`nf2vec_core.nf.functional.forward` and autograd. It is
  the reference the fused path is tested against.

Each NF's loss is its own mean over its points; the optimised objective is the *sum* over NFs, so
every NF gets exactly the gradient it would get if fitted alone (the chunk size changes nothing).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from ..nf.functional import forward as nf_forward
from ..nf.functional import unflatten
from ..nf.layout import ArchSpec, trainable_mask
from ..runtime import eval_chunk
from .fast_siren import fast_siren_loss_and_grad

Loss = Literal["mse", "bce", "l1"]


@dataclass(frozen=True)
class FitConfig:
    """Optimisation settings of one fitting run (the ``fit`` section of params.yaml)."""

    steps: int = 500
    lr: float = 1e-3
    points_per_step: int = 2048          # 0 = all points of the pool every step (e.g. all pixels)
    chunk_size: int = 16                 # NFs optimised together (kept small to stay in cache)
    loss: Loss = "mse"
    backend: Literal["auto", "fused", "autograd"] = "auto"
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    lr_schedule: Literal["constant", "cosine"] = "constant"
    lr_final: float = 0.1                # cosine: final lr as a fraction of ``lr``
    seed: int = 0

    def lr_at(self, step: int) -> float:
        """Learning rate of step ``step`` (0-based)."""
        if self.lr_schedule == "constant" or self.steps <= 1:
            return self.lr
        t = step / (self.steps - 1)
        return self.lr * (self.lr_final + (1 - self.lr_final) * 0.5 * (1 + math.cos(math.pi * t)))


@dataclass
class FitTargets:
    """What a chunk of NFs is fitted to.

    ``coords`` is ``[n, M, d]`` (a pool of query points per NF) or ``[M, d]`` (the same points for
    every NF, e.g. pixel centres); ``values`` is ``[n, M, c]``.
    """

    coords: torch.Tensor
    values: torch.Tensor

    def __post_init__(self) -> None:
        if self.coords.dim() not in (2, 3) or self.values.dim() != 3:
            raise ValueError(f"FitTargets: coords must be [n,M,d] or [M,d] and values [n,M,c]; got "
                             f"{tuple(self.coords.shape)} and {tuple(self.values.shape)}")
        if self.coords.shape[-2] != self.values.shape[1]:
            raise ValueError("FitTargets: coords and values disagree on the number of points")

    @property
    def shared_coords(self) -> bool:
        return self.coords.dim() == 2

    def to(self, device: torch.device) -> "FitTargets":
        return FitTargets(self.coords.to(device), self.values.to(device))


def resolve_backend(spec: ArchSpec, backend: str) -> str:
    if backend == "auto":
        return "fused" if spec.family == "siren" else "autograd"
    if backend == "fused" and spec.family != "siren":
        raise ValueError(f"fit.backend: the fused backend supports SIREN only, not {spec.family}")
    if backend not in ("fused", "autograd"):
        raise ValueError(f"fit.backend: unknown backend {backend!r}")
    return backend


# ---------------------------------------------------------------------------- losses
def loss_and_grad(out: torch.Tensor, y: torch.Tensor, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-NF loss ``[n]`` (mean over points and channels) and ``d(sum of losses)/d out``."""
    scale = 1.0 / (out.shape[1] * out.shape[2])
    if loss == "mse":
        diff = out - y
        return diff.pow(2).mean(dim=(1, 2)), diff.mul_(2.0 * scale)
    if loss == "bce":  # logits vs targets in [0, 1]
        per = torch.nn.functional.binary_cross_entropy_with_logits(out, y, reduction="none")
        return per.mean(dim=(1, 2)), torch.sigmoid(out).sub_(y).mul_(scale)
    if loss == "l1":
        diff = out - y
        return diff.abs().mean(dim=(1, 2)), diff.sign_().mul_(scale)
    raise ValueError(f"fit.loss: unknown loss {loss!r}; expected mse, bce or l1")


def per_nf_loss(out: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Differentiable per-NF loss ``[n]`` (the autograd backend and evaluation)."""
    if loss == "mse":
        return (out - y).pow(2).mean(dim=(1, 2))
    if loss == "bce":
        return torch.nn.functional.binary_cross_entropy_with_logits(out, y, reduction="none").mean(dim=(1, 2))
    if loss == "l1":
        return (out - y).abs().mean(dim=(1, 2))
    raise ValueError(f"fit.loss: unknown loss {loss!r}")


# ----------------------------------------------------------------- fused SIREN step
def siren_loss_and_grad(spec: ArchSpec, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                        loss: str, grad: torch.Tensor) -> torch.Tensor:
    """Hand-written forward + backward of ``n`` SIRENs; writes ``d loss / d theta`` into ``grad``.

    ``theta``/``grad`` are ``[n, P]``; ``x`` is ``[n, M, d]`` or ``[M, d]``; returns losses ``[n]``.
    """
    p = unflatten(spec, theta)
    g = unflatten(spec, grad)
    n = theta.shape[0]
    omegas = [spec.w0_first] + [spec.w0] * (spec.depth - 1)
    xb = x.expand(n, *x.shape[-2:])
    acts = [xb]          # inputs of each layer
    pres = []            # pre-activations w0 * (W h + b), reused (as cos) in the backward pass
    h = xb
    for i in range(spec.depth):
        pre = torch.baddbmm(p[f"l{i}.bias"].unsqueeze(1), h, p[f"l{i}.weight"].transpose(1, 2))
        pre.mul_(omegas[i])
        h = torch.sin(pre)
        pres.append(pre)
        acts.append(h)
    out = torch.baddbmm(p["out.bias"].unsqueeze(1), h, p["out.weight"].transpose(1, 2))
    losses, dout = loss_and_grad(out, y, loss)
    # output layer
    g["out.weight"].copy_(torch.bmm(dout.transpose(1, 2), h))
    g["out.bias"].copy_(dout.sum(1))
    dh = torch.bmm(dout, p["out.weight"])
    for i in range(spec.depth - 1, -1, -1):
        da = pres[i].cos_().mul_(dh).mul_(omegas[i])           # d/d(W h + b)
        g[f"l{i}.weight"].copy_(torch.bmm(da.transpose(1, 2), acts[i]))
        g[f"l{i}.bias"].copy_(da.sum(1))
        if i > 0:
            dh = torch.bmm(da, p[f"l{i}.weight"])
    return losses


def autograd_loss_and_grad(spec: ArchSpec, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                           loss: str, grad: torch.Tensor) -> torch.Tensor:
    """Reference path: autograd through the functional forward; same contract as the fused one."""
    with torch.enable_grad():
        t = theta.detach().requires_grad_(True)
        losses = per_nf_loss(nf_forward(spec, t, x), y, loss)
        (gt,) = torch.autograd.grad(losses.sum(), t)
    grad.copy_(gt)
    return losses.detach()


# ---------------------------------------------------------------------------- Adam
class BatchedAdam:
    """Adam on a ``[n, P]`` tensor: every NF has its own moments; frozen entries never move."""

    def __init__(self, theta: torch.Tensor, cfg: FitConfig, frozen: torch.Tensor | None):
        self.cfg = cfg
        self.m = torch.zeros_like(theta)
        self.v = torch.zeros_like(theta)
        self.t = 0
        self.frozen = frozen

    def step(self, theta: torch.Tensor, grad: torch.Tensor) -> None:
        c = self.cfg
        lr = c.lr_at(self.t)
        self.t += 1
        if c.weight_decay:
            grad.add_(theta, alpha=c.weight_decay)
        if self.frozen is not None:
            grad[:, self.frozen] = 0.0
        self.m.mul_(c.beta1).add_(grad, alpha=1 - c.beta1)
        self.v.mul_(c.beta2).addcmul_(grad, grad, value=1 - c.beta2)
        bc1 = 1 - c.beta1 ** self.t
        bc2 = 1 - c.beta2 ** self.t
        denom = self.v.sqrt().div_(math.sqrt(bc2)).add_(c.eps)
        theta.addcdiv_(self.m, denom, value=-lr / bc1)


def frozen_index(spec: ArchSpec, device: torch.device) -> torch.Tensor | None:
    """Indices of the non-trainable entries (RFFNet's Fourier matrix), or None."""
    mask = torch.ones(spec.num_params, dtype=torch.bool)
    for a, b in trainable_mask(spec):
        mask[a:b] = False
    idx = mask.nonzero().flatten()
    return idx.to(device) if idx.numel() else None


# ------------------------------------------------------------------------- driver
def sample_batch(targets: FitTargets, m: int, gen: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``m`` random points per NF (or all points when ``m`` is 0 or >= the pool size)."""
    pool = targets.values.shape[1]
    if m <= 0 or m >= pool:
        return targets.coords, targets.values
    n = targets.values.shape[0]
    idx = torch.randint(pool, (n, m), generator=gen, device="cpu").to(targets.values.device)
    # index_select on flattened rows: same result as values[rows, idx], ~3x faster on CPU
    flat = (idx + (torch.arange(n, device=idx.device) * pool).unsqueeze(1)).view(-1)
    if targets.shared_coords:
        coords = targets.coords[idx]
    else:
        coords = targets.coords.reshape(n * pool, -1).index_select(0, flat).view(n, m, -1)
    return coords, targets.values.reshape(n * pool, -1).index_select(0, flat).view(n, m, -1)


def fit_chunk(spec: ArchSpec, theta0: torch.Tensor, targets: FitTargets, cfg: FitConfig,
              *, seed: int | None = None, on_step=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Fit ``n`` NFs from ``theta0 [n, P]`` to ``targets``; returns ``(theta, final losses [n])``.

    ``seed`` drives the point sampling (defaults to ``cfg.seed``); ``on_step(i)`` is called after
    every step (progress bars). Runs on the device of ``theta0``.
    """
    backend = resolve_backend(spec, cfg.backend)
    step_fn = fast_siren_loss_and_grad if backend == "fused" else autograd_loss_and_grad
    theta = theta0.detach().clone().contiguous()
    grad = torch.zeros_like(theta)
    opt = BatchedAdam(theta, cfg, frozen_index(spec, theta.device))
    gen = torch.Generator().manual_seed(int(cfg.seed if seed is None else seed))
    losses = torch.full((theta.shape[0],), float("nan"), device=theta.device)
    with torch.no_grad():
        for i in range(cfg.steps):
            x, y = sample_batch(targets, cfg.points_per_step, gen)
            losses = step_fn(spec, theta, x, y, cfg.loss, grad)
            opt.step(theta, grad)
            if on_step is not None:
                on_step(i)
    return theta, losses


@torch.no_grad()
def evaluate(spec: ArchSpec, theta: torch.Tensor, coords: torch.Tensor,
             chunk_points: int | None = None) -> torch.Tensor:
    """Raw NF outputs ``[n, M, out]`` at ``coords`` (``[n,M,d]`` or ``[M,d]``), chunked over points
    (by default :func:`~nf2vec_core.runtime.eval_chunk` points per call: cache-sized on CPU)."""
    if chunk_points is None:
        chunk_points = eval_chunk(theta.shape[0], theta.device.type == "cuda")
    outs = []
    for a in range(0, coords.shape[-2], chunk_points):
        outs.append(nf_forward(spec, theta, coords[..., a:a + chunk_points, :]))
    return torch.cat(outs, dim=1)

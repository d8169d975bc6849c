"""NeRF architectures as batched functional models over flat parameter vectors ``[N, P]``.

Two kinds, both mapping a 3-D point (no view direction) to 4 raw outputs ``(r, g, b, density)``
(paper 000 §VI "General settings"; paper 003 appendix B):

* ``mlp`` -- the nf2vec NeRF: frequency encoding of the point, ``depth`` hidden linear layers of
  width ``hidden`` with ReLU, a linear output layer of 4 (no activation). Paper: 3 x 64, 24
  frequencies (a 144-d input). The default here is 10 frequencies: octaves above ~2^12 are noise in
  float32 (``sin(2^23 pi u)``), and measured on two 64x64 procedural scenes (600 steps) 24
  frequencies fitted worse than 10 or 6 (chair held-out PSNR 23.7 vs 27.4 vs 29.4 dB).
* ``triplane`` -- three axis-aligned ``R x R`` feature planes with ``C`` channels (Chan et al.
  2022; Cardace et al. 2024) sampled bilinearly and summed (``C`` features) or concatenated
  (``3C``), optionally concatenated with the frequency encoding, then a sine MLP (SIREN layers:
  ``h = sin(w0 (W x + b))``) of ``depth`` x ``hidden`` and a linear output of 4.

Coordinates. A world point ``x`` is first normalised by the scene box ``aabb = (x0,y0,z0,x1,y1,z1)``
to ``u = (x - lo) / (hi - lo)`` in ``[0, 1]^3``. Frequency encoding with ``L = num_freqs``:
``gamma(u) = [sin(2^k pi u_d) for d in xyz for k < L] ++ [cos(...) same order]`` (``6L`` values;
``++ u`` first when ``include_xyz``). Tri-plane ``p`` (0: xy, 1: xz, 2: yz) is sampled at the
pair ``(a, b)`` of its two axes with ``torch.nn.functional.grid_sample(align_corners=True)``: the
plane's column index follows ``a``, its row index follows ``b``, texel ``(row r, col c)`` sits at
``u_a = c / (R - 1), u_b = r / (R - 1)``; points outside the box take the border texels.

Field. ``rgb = sigmoid(raw[:3])``; ``density = act(raw[3] + density_shift)`` with ``act`` one of
``trunc_exp`` (``exp``, its gradient clamped at 15 as in Instant-NGP / nerfacc), ``softplus``,
``relu``.

Flat layout (what :meth:`NerfArch.tensors` lists, in order; weights ``[out, in]`` then bias
``[out]``, the :mod:`nf2vec_core.nf.layout` convention):

* ``mlp``: ``l0.weight [hidden, enc]``, ``l0.bias``, ``l1.*`` ... ``l{depth-1}.*``, ``out.weight [4, hidden]``, ``out.bias [4]``.
* ``triplane``: ``planes [3, C, R, R]`` first, then the same MLP layers with
  ``l0`` input ``C`` (sum) or ``3C`` (concat) plus the encoding size.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from ..nf.init import _derive
from ..nf.layout import TensorSpec, linear_tensor_specs

__all__ = ["NerfArch", "encode_frequencies", "normalize_points", "nerf_forward", "activate", "radiance", "trunc_exp",
           "init_nerf", "init_nerf_batch", "unflatten"]

NerfKind = Literal["mlp", "triplane"]
PLANE_AXES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2))
"""Axes ``(a, b)`` of tri-plane ``p``: ``a`` indexes the columns, ``b`` the rows."""


@dataclass(frozen=True)
class NerfArch:
    """Sizes of one NeRF architecture (the ``nerf`` section of params.yaml)."""

    kind: NerfKind = "mlp"
    hidden: int = 64
    depth: int = 3                       # hidden layers (activations)
    num_freqs: int = 10                  # frequency-encoding octaves of xyz (0: none); paper: 24
    include_xyz: bool = False            # also feed the normalised point itself
    aabb: tuple[float, float, float, float, float, float] = (-1.0, -1.0, -1.0, 1.0, 1.0, 1.0)
    plane_res: int = 32                  # tri-plane: R
    plane_channels: int = 16             # tri-plane: C
    plane_reduce: Literal["sum", "concat"] = "sum"
    plane_init: float = 0.1              # tri-plane features ~ U(-plane_init, plane_init)
    w0: float = 30.0                     # tri-plane sine MLP: hidden layers
    w0_first: float = 30.0               # tri-plane sine MLP: first layer
    density_activation: Literal["trunc_exp", "softplus", "relu"] = "trunc_exp"
    density_shift: float = -1.0

    def __post_init__(self) -> None:
        if self.kind not in ("mlp", "triplane"):
            raise ValueError(f"nerf.kind: unknown NeRF kind {self.kind!r}; expected 'mlp' or 'triplane'")
        for name in ("hidden", "depth"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"nerf.{name}: must be >= 1, got {getattr(self, name)}")
        if self.num_freqs < 0:
            raise ValueError(f"nerf.num_freqs: must be >= 0, got {self.num_freqs}")
        if self.kind == "mlp" and self.encoding_dim == 0:
            raise ValueError("nerf: an mlp NeRF needs num_freqs > 0 or include_xyz")
        if self.kind == "triplane" and (self.plane_res < 2 or self.plane_channels < 1):
            raise ValueError(f"nerf: tri-planes need plane_res >= 2 and plane_channels >= 1, got "
                             f"{self.plane_res}, {self.plane_channels}")
        if self.plane_reduce not in ("sum", "concat"):
            raise ValueError(f"nerf.plane_reduce: expected 'sum' or 'concat', got {self.plane_reduce!r}")
        if len(self.aabb) != 6 or any(self.aabb[i + 3] <= self.aabb[i] for i in range(3)):
            raise ValueError(f"nerf.aabb: expected (x0, y0, z0, x1, y1, z1) with x1 > x0 etc., got {self.aabb}")

    # ------------------------------------------------------------------ layout
    @property
    def encoding_dim(self) -> int:
        return 6 * self.num_freqs + (3 if self.include_xyz else 0)

    @property
    def feature_dim(self) -> int:
        """Width of the first linear layer's input."""
        if self.kind == "mlp":
            return self.encoding_dim
        planes = self.plane_channels * (3 if self.plane_reduce == "concat" else 1)
        return planes + self.encoding_dim

    def linear_layers(self) -> list[tuple[str, int, int]]:
        """Linear layers ``(name, in, out)`` in vector order."""
        dims = [self.feature_dim] + [self.hidden] * self.depth
        return [(f"l{i}", dims[i], dims[i + 1]) for i in range(self.depth)] + [("out", self.hidden, 4)]

    def tensors(self) -> list[TensorSpec]:
        specs: list[TensorSpec] = []
        off = 0
        if self.kind == "triplane":
            shape = (3, self.plane_channels, self.plane_res, self.plane_res)
            specs.append(TensorSpec("planes", shape, off))
            off += specs[-1].numel
        return specs + linear_tensor_specs(self.linear_layers(), off)

    @property
    def num_params(self) -> int:
        return self.tensors()[-1].stop

    def flops_per_sample(self) -> int:
        """Multiply-adds x 2 of the MLP at one sample (encoding and plane lookups not counted)."""
        return 2 * sum(i * o for _, i, o in self.linear_layers())

    def to_json(self) -> str:
        return json.dumps({"arch": asdict(self), "num_params": self.num_params,
                           "tensors": [{"name": t.name, "shape": list(t.shape), "offset": t.offset}
                                       for t in self.tensors()]}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "NerfArch":
        data = json.loads(text)
        arch = dict(data["arch"])
        arch["aabb"] = tuple(arch["aabb"])
        spec = cls(**arch)
        if data.get("num_params", spec.num_params) != spec.num_params:
            raise ValueError(f"arch.json: num_params {data['num_params']} does not match the layout "
                             f"({spec.num_params}); written by an incompatible version")
        return spec


def unflatten(arch: NerfArch, theta: torch.Tensor) -> dict[str, torch.Tensor]:
    """Views of ``theta [N, P]`` as named tensors ``[N, *shape]`` (no copy)."""
    if theta.shape[-1] != arch.num_params:
        raise ValueError(f"parameter vector has {theta.shape[-1]} entries, the {arch.kind} NeRF expects {arch.num_params}")
    lead = theta.shape[:-1]
    return {t.name: theta[..., t.offset:t.stop].reshape(*lead, *t.shape) for t in arch.tensors()}


# ------------------------------------------------------------------------- functions
class _TruncExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):  # type: ignore[override]
        ctx.save_for_backward(x)
        return torch.exp(x)

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return g * torch.exp(x.clamp(max=15.0))


def trunc_exp(x: torch.Tensor) -> torch.Tensor:
    """``exp(x)`` whose gradient uses ``exp(min(x, 15))`` (no exploding density gradients)."""
    return _TruncExp.apply(x)


def normalize_points(arch: NerfArch, x: torch.Tensor) -> torch.Tensor:
    """World points ``[..., 3]`` -> box coordinates ``u`` in ``[0, 1]^3`` (inside the aabb)."""
    box = torch.as_tensor(arch.aabb, dtype=x.dtype, device=x.device)
    return (x - box[:3]) / (box[3:] - box[:3])


def encode_frequencies(u: torch.Tensor, num_freqs: int, include_xyz: bool = False) -> torch.Tensor:
    """``[..., 3]`` -> ``[..., 6L (+3)]``: ``[u?, sin(2^k pi u_d), cos(2^k pi u_d)]`` (d-major)."""
    parts = [u] if include_xyz else []
    if num_freqs > 0:
        freqs = math.pi * 2.0 ** torch.arange(num_freqs, dtype=u.dtype, device=u.device)
        z = (u.unsqueeze(-1) * freqs).flatten(-2)                     # [..., 3L], index d*L + k
        parts += [torch.sin(z), torch.cos(z)]
    return torch.cat(parts, dim=-1)


def _linear(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.baddbmm(b.unsqueeze(-2), h, w.transpose(-1, -2))


def _sample_planes(arch: NerfArch, planes: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Bilinear tri-plane features ``[N, M, C or 3C]`` at box coordinates ``u [N, M, 3]``."""
    n, m, _ = u.shape
    c, r = arch.plane_channels, arch.plane_res
    g = torch.stack([u[..., [a, b]] for a, b in PLANE_AXES], dim=1) * 2.0 - 1.0     # [N, 3, M, 2]
    feats = F.grid_sample(planes.reshape(n * 3, c, r, r), g.reshape(n * 3, 1, m, 2), mode="bilinear",
                          padding_mode="border", align_corners=True)                 # [N*3, C, 1, M]
    feats = feats.view(n, 3, c, m)
    if arch.plane_reduce == "sum":
        return feats.sum(1).transpose(1, 2)
    return feats.permute(0, 3, 1, 2).reshape(n, m, 3 * c)


def nerf_forward(arch: NerfArch, theta: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Raw outputs ``[N, M, 4]`` of ``N`` NeRFs ``theta [N, P]`` at world points ``x [N, M, 3]``
    (or ``[M, 3]``, the same points for every NeRF). Differentiable in ``theta``."""
    p = unflatten(arch, theta)
    n = theta.shape[0]
    x = x.expand(n, *x.shape[-2:]) if x.dim() == 2 else x
    u = normalize_points(arch, x)
    feats = []
    if arch.kind == "triplane":
        feats.append(_sample_planes(arch, p["planes"], u))
    if arch.encoding_dim:
        feats.append(encode_frequencies(u, arch.num_freqs, arch.include_xyz))
    h = feats[0] if len(feats) == 1 else torch.cat(feats, dim=-1)
    for i in range(arch.depth):
        z = _linear(h, p[f"l{i}.weight"], p[f"l{i}.bias"])
        if arch.kind == "mlp":
            h = torch.relu(z)
        else:
            h = torch.sin((arch.w0_first if i == 0 else arch.w0) * z)
    return _linear(h, p["out.weight"], p["out.bias"])


def activate(arch: NerfArch, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw ``[..., 4]`` -> ``(rgb [..., 3] in (0, 1), density [...] >= 0)``."""
    s = raw[..., 3] + arch.density_shift
    if arch.density_activation == "trunc_exp":
        sigma = trunc_exp(s)
    elif arch.density_activation == "softplus":
        sigma = F.softplus(s)
    else:
        sigma = torch.relu(s)
    return torch.sigmoid(raw[..., :3]), sigma


def radiance(arch: NerfArch, theta: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Colour ``[N, M, 3]`` and density ``[N, M]`` of ``N`` NeRFs at points ``x [N, M, 3]``."""
    return activate(arch, nerf_forward(arch, theta, x))


# ---------------------------------------------------------------------------- init
def _uniform(gen: torch.Generator, shape: tuple[int, ...], bound: float) -> torch.Tensor:
    return (torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1).mul_(bound).float()


def init_nerf(arch: NerfArch, seed: int) -> torch.Tensor:
    """One parameter vector ``[P]`` drawn deterministically from ``seed`` (float32, CPU).

    ``mlp``: He-uniform ``U(+-sqrt(6/in))`` weights for the ReLU layers, ``U(+-1/sqrt(in))`` for
    the output layer, biases ``U(+-1/sqrt(in))`` (the ``torch.nn.Linear`` default).
    ``triplane``: planes ``U(+-plane_init)``; SIREN init (first layer ``U(+-1/in)``, others
    ``U(+-sqrt(6/in)/w0)``), biases ``U(+-1/sqrt(in))``.
    """
    gen = torch.Generator().manual_seed(int(seed))
    fan_ins = {name: fan_in for name, fan_in, _ in arch.linear_layers()}
    parts = []
    for t in arch.tensors():
        if t.name == "planes":
            parts.append(_uniform(gen, t.shape, arch.plane_init))
            continue
        layer, kind = t.name.rsplit(".", 1)
        fan_in = fan_ins[layer]
        if kind == "bias":
            parts.append(_uniform(gen, t.shape, 1.0 / math.sqrt(fan_in)))
        elif layer == "out":
            parts.append(_uniform(gen, t.shape, 1.0 / math.sqrt(fan_in)))
        elif arch.kind == "mlp":
            parts.append(_uniform(gen, t.shape, math.sqrt(6.0 / fan_in)))
        elif layer == "l0":
            parts.append(_uniform(gen, t.shape, 1.0 / fan_in))
        else:
            parts.append(_uniform(gen, t.shape, math.sqrt(6.0 / fan_in) / arch.w0))
    return torch.cat([p.reshape(-1) for p in parts])


def init_nerf_batch(arch: NerfArch, n: int, *, seed: int, mode: str = "shared", start_index: int = 0) -> torch.Tensor:
    """Initial vectors ``[n, P]``: ``shared`` repeats :func:`init_nerf` ``(seed)`` (the shared
    init nf2vec needs); ``random`` draws NeRF ``i`` from ``(seed, start_index + i)``."""
    if mode == "shared":
        return init_nerf(arch, seed).unsqueeze(0).repeat(n, 1)
    if mode == "random":
        return torch.stack([init_nerf(arch, _derive(seed, start_index + i)) for i in range(n)])
    raise ValueError(f"nerf init: unknown mode {mode!r}; expected 'shared' or 'random'")

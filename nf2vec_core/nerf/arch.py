"""NeRF architectures as batched functional models over flat parameter vectors ``[N, P]``.

Three kinds, all mapping a 3-D point (no view direction) to 4 raw outputs ``(r, g, b, density)``
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
* ``hash`` -- a multiresolution hash grid (Müller et al. 2022, Instant-NGP; :mod:`.hashgrid`):
  ``hash_levels`` levels of ``2^hash_log2_size`` rows of ``hash_features`` features, resolutions
  ``floor(hash_base_res * hash_growth^l)``, trilinear interpolation of the 8 cell corners, the
  spatial hash with Instant-NGP's primes; the ``L * F`` features (optionally concatenated with the
  frequency encoding: set ``num_freqs: 0`` for the plain Instant-NGP input) feed a ReLU MLP of
  ``depth`` x ``hidden`` and a linear output of 4 (density and colour from one small head).

Paper 003's "unseen architectures" (MLP-2L, MLP-32H, TRI-2L, TRI-32H, TRI-16W, TRI-8C) change one
size of the MLP or tri-plane NeRF: :data:`ARCH_VARIANTS` / :func:`arch_variant`.

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
* ``hash``: ``tables [L, T, F]`` first, then the same MLP layers with ``l0`` input ``L F`` plus
  the encoding size.

``arch.json`` (:meth:`NerfArch.to_json`) lists the ``hash_*`` sizes only for the ``hash`` kind.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..validation import Rule, nonnegative as at_least_zero, positive_int
from ..nf.init import _derive
from ..nf.layout import TensorSpec, linear_tensor_specs
from .hashgrid import hash_encode, level_resolutions

__all__ = ["NerfArch", "ARCH_VARIANTS", "arch_variant", "encode_frequencies", "normalize_points", "nerf_forward",
           "activate", "radiance", "trunc_exp", "init_nerf", "init_nerf_batch", "unflatten"]

NerfKind = Literal["mlp", "triplane", "hash"]
KINDS: tuple[str, ...] = ("mlp", "triplane", "hash")
# the hash grid's params rules live here, beside the fields (nf2vec_core.validation reads them)
_LOG2_SIZE = Rule(lambda v: isinstance(v, int) and 1 <= v <= 24, "must be an integer in [1, 24]")   # 2..16M rows
_GROWTH = Rule(lambda v: v >= 1.0, "must be a number >= 1")
HASH_FIELDS: tuple[str, ...] = ("hash_levels", "hash_log2_size", "hash_features", "hash_base_res", "hash_growth",
                                "hash_init")
MAX_HASH_RES = 1 << 16
"""Finest hash-grid resolution allowed: float32 box coordinates resolve cells of about 2^-16 at best
(a finer level would interpolate between rows that no point can tell apart)."""
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
    hash_levels: int = field(default=8, metadata={"rule": positive_int})  # hash grid: L
    hash_log2_size: int = field(default=12, metadata={"rule": _LOG2_SIZE})  # hash grid: T = 2^hash_log2_size rows per level
    hash_features: int = field(default=2, metadata={"rule": positive_int})  # hash grid: F
    hash_base_res: int = field(default=4, metadata={"rule": positive_int})  # hash grid: N_min, resolution of the coarsest level
    hash_growth: float = field(default=1.5, metadata={"rule": _GROWTH})  # hash grid: b, N_l = floor(N_min b^l)
    hash_init: float = field(default=1.0e-4, metadata={"rule": at_least_zero})  # hash-table features ~ U(-hash_init, hash_init) (Instant-NGP)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"nerf.kind: unknown NeRF kind {self.kind!r}; expected one of {list(KINDS)}")
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
        if self.kind == "hash":
            self._check_hash()
        if self.plane_reduce not in ("sum", "concat"):
            raise ValueError(f"nerf.plane_reduce: expected 'sum' or 'concat', got {self.plane_reduce!r}")
        if len(self.aabb) != 6 or any(self.aabb[i + 3] <= self.aabb[i] for i in range(3)):
            raise ValueError(f"nerf.aabb: expected (x0, y0, z0, x1, y1, z1) with x1 > x0 etc., got {self.aabb}")

    def _check_hash(self) -> None:
        for name in ("hash_levels", "hash_features", "hash_base_res"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"param '{name}' must be >= 1 for a hash grid, got {getattr(self, name)}")
        if not 1 <= self.hash_log2_size <= 24:
            raise ValueError(f"param 'hash_log2_size' must be in [1, 24], got {self.hash_log2_size}")
        if self.hash_growth < 1.0:
            raise ValueError(f"param 'hash_growth' must be >= 1, got {self.hash_growth}")
        if self.hash_resolutions[-1] > MAX_HASH_RES:
            raise ValueError(f"param 'hash_levels': the finest hash level has resolution {self.hash_resolutions[-1]} "
                             f"> {MAX_HASH_RES}; lower hash_growth, hash_levels or hash_base_res")

    # ------------------------------------------------------------------ layout
    @property
    def hash_resolutions(self) -> tuple[int, ...]:
        """Grid resolution of every hash level, coarsest first."""
        return level_resolutions(self.hash_base_res, self.hash_growth, self.hash_levels)

    @property
    def hash_table_size(self) -> int:
        return 1 << self.hash_log2_size

    @property
    def encoding_dim(self) -> int:
        return 6 * self.num_freqs + (3 if self.include_xyz else 0)

    @property
    def feature_dim(self) -> int:
        """Width of the first linear layer's input."""
        if self.kind == "mlp":
            return self.encoding_dim
        if self.kind == "hash":
            return self.hash_levels * self.hash_features + self.encoding_dim
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
        elif self.kind == "hash":
            specs.append(TensorSpec("tables", (self.hash_levels, self.hash_table_size, self.hash_features), off))
            off += specs[-1].numel
        return specs + linear_tensor_specs(self.linear_layers(), off)

    @property
    def num_params(self) -> int:
        return self.tensors()[-1].stop

    def flops_per_sample(self) -> int:
        """Multiply-adds x 2 of the MLP at one sample (encoding, plane and hash lookups not counted)."""
        return 2 * sum(i * o for _, i, o in self.linear_layers())

    def to_json(self) -> str:
        """The sizes, parameter count and tensor layout; the ``hash_*`` sizes only for a hash grid."""
        arch = asdict(self)
        if self.kind != "hash":
            for name in HASH_FIELDS:
                del arch[name]
        return json.dumps({"arch": arch, "num_params": self.num_params,
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
    elif arch.kind == "hash":
        feats.append(hash_encode(p["tables"], u, arch.hash_resolutions))
    if arch.encoding_dim:
        feats.append(encode_frequencies(u, arch.num_freqs, arch.include_xyz))
    h = feats[0] if len(feats) == 1 else torch.cat(feats, dim=-1)
    for i in range(arch.depth):
        z = _linear(h, p[f"l{i}.weight"], p[f"l{i}.bias"])
        if arch.kind == "triplane":
            h = torch.sin((arch.w0_first if i == 0 else arch.w0) * z)
        else:
            h = torch.relu(z)
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
    ``hash``: tables ``U(+-hash_init)`` (Instant-NGP), then the ``mlp`` init of the ReLU head.
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
        if t.name == "tables":
            parts.append(_uniform(gen, t.shape, arch.hash_init))
            continue
        layer, kind = t.name.rsplit(".", 1)
        fan_in = fan_ins[layer]
        if kind == "bias":
            parts.append(_uniform(gen, t.shape, 1.0 / math.sqrt(fan_in)))
        elif layer == "out":
            parts.append(_uniform(gen, t.shape, 1.0 / math.sqrt(fan_in)))
        elif arch.kind != "triplane":
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


# ------------------------------------------------------------------------ variants
ARCH_VARIANTS: dict[str, tuple[str, dict[str, int]]] = {
    "MLP-2L": ("mlp", {"depth": 2}),
    "MLP-32H": ("mlp", {"hidden": 32}),
    "TRI-2L": ("triplane", {"depth": 2}),
    "TRI-32H": ("triplane", {"hidden": 32}),
    "TRI-16W": ("triplane", {"plane_res": 16}),
    "TRI-8C": ("triplane", {"plane_channels": 8}),
}
"""Paper 003's unseen architectures (§4.2): the kind each applies to and the sizes it changes
(2 hidden layers instead of 3, width 32 instead of 64, planes of resolution 16 instead of 32,
8 channels instead of 16). In params: the same ``nerf.arch`` keys (``depth``, ``hidden``,
``plane_res``, ``plane_channels``)."""


def arch_variant(base: NerfArch, name: str) -> NerfArch:
    """The unseen-architecture variant ``name`` of :data:`ARCH_VARIANTS` built on ``base`` (of its kind)."""
    if name not in ARCH_VARIANTS:
        raise ConfigError(f"unknown NeRF architecture variant {name!r}; expected one of {list(ARCH_VARIANTS)}")
    kind, changes = ARCH_VARIANTS[name]
    if base.kind != kind:
        raise ConfigError(f"NeRF variant {name!r} changes a {kind} NeRF, got a {base.kind} base architecture")
    return dataclasses.replace(base, **changes)

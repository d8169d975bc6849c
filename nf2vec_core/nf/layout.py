"""The flat parameter-vector layout shared by every NF architecture.

An NF is stored as ONE float32 vector ``theta`` of length ``P``; a neural dataset is a ``[N, P]``
matrix. The vector is the concatenation, in order, of the tensors listed by
:meth:`ArchSpec.tensors`. For a linear layer named ``l``, the weight ``l.weight`` has shape
``[out, in]`` (row-major, the ``torch.nn.Linear`` convention) and is followed by ``l.bias``
``[out]``. ``docs/neural_dataset_format.md`` documents the same layout for other tools.

Families (paper 004 supplementary §1; Sitzmann et al. for SIREN):

* ``siren``:  ``h1 = sin(w0_first * (W0 x + b0))``; ``h_{i+1} = sin(w0 * (W_i h_i + b_i))``;
  ``f = W_L h_L + b_L``. Layers ``l0`` (input), ``l1..l{depth-1}`` (hidden), ``out``.
* ``rffnet``: ``z = std * B x`` with a fixed Gaussian ``B`` (``fourier.weight``, not trained);
  ``h = [sin z, cos z]``, then ReLU linear layers ``l0..`` and a linear ``out``.
* ``mfn`` (FourierNet): filters ``g_i(x) = sin(F_i x + phi_i)`` (``filter{i}``);
  ``z1 = g_0(x)``, ``z_{i+1} = (W_i z_i + b_i) * g_i(x)``; ``f = W_out z + b_out``.

``depth`` is the number of hidden layers (activations) for SIREN/RFFNet and the number of filters
for MFN, so SIREN ``depth=3, hidden=32`` is the "3x32" network (three sine layers of width 32).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

Family = Literal["siren", "rffnet", "mfn"]
FAMILIES: tuple[str, ...] = ("siren", "rffnet", "mfn")


@dataclass(frozen=True)
class TensorSpec:
    """One tensor of the flat vector: its name, shape, offset into the vector and trainability."""

    name: str
    shape: tuple[int, ...]
    offset: int
    trainable: bool = True

    @property
    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def stop(self) -> int:
        return self.offset + self.numel


def linear_tensor_specs(layers: list[tuple[str, int, int]], offset: int = 0) -> list[TensorSpec]:
    """Specs of linear layers ``(name, fan_in, fan_out)`` packed from ``offset``: each layer's weight
    ``[fan_out, fan_in]`` then its bias ``[fan_out]`` (shared by the NF and NeRF layouts)."""
    specs: list[TensorSpec] = []
    for name, fan_in, fan_out in layers:
        specs.append(TensorSpec(f"{name}.weight", (fan_out, fan_in), offset))
        offset += fan_in * fan_out
        specs.append(TensorSpec(f"{name}.bias", (fan_out,), offset))
        offset += fan_out
    return specs


@dataclass(frozen=True)
class ArchSpec:
    """Architecture of one NF family member; everything needed to rebuild it from a flat vector."""

    family: Family = "siren"
    in_dim: int = 3
    out_dim: int = 1
    hidden: int = 32
    depth: int = 3
    w0: float = 30.0
    w0_first: float = 30.0
    rff_features: int = 64
    rff_std: float = 10.0
    mfn_scale: float = 16.0

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"nf.family: unknown NF family {self.family!r}; expected one of {FAMILIES}")
        for name in ("in_dim", "out_dim", "hidden", "depth"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"nf.{name}: must be >= 1, got {getattr(self, name)}")
        if self.family == "mfn" and self.depth < 1:
            raise ValueError("nf.depth: an MFN needs at least one filter")

    # ------------------------------------------------------------------ layout
    def linear_layers(self) -> list[tuple[str, int, int]]:
        """Trainable linear layers as ``(name, in, out)`` in vector order."""
        h = self.hidden
        if self.family == "siren":
            dims = [self.in_dim] + [h] * self.depth
            layers = [(f"l{i}", dims[i], dims[i + 1]) for i in range(self.depth)]
            return layers + [("out", h, self.out_dim)]
        if self.family == "rffnet":
            dims = [2 * self.rff_features] + [h] * self.depth
            layers = [(f"l{i}", dims[i], dims[i + 1]) for i in range(self.depth)]
            return layers + [("out", h, self.out_dim)]
        # mfn: depth filters in->h, depth-1 linears h->h, output h->out
        filters = [(f"filter{i}", self.in_dim, h) for i in range(self.depth)]
        linears = [(f"l{i}", h, h) for i in range(self.depth - 1)]
        return filters + linears + [("out", h, self.out_dim)]

    def tensors(self) -> list[TensorSpec]:
        """Every tensor of the flat vector in order (weights ``[out, in]`` then biases ``[out]``)."""
        specs: list[TensorSpec] = []
        off = 0
        if self.family == "rffnet":
            specs.append(TensorSpec("fourier.weight", (self.rff_features, self.in_dim), off, trainable=False))
            off += self.rff_features * self.in_dim
        return specs + linear_tensor_specs(self.linear_layers(), off)

    @property
    def num_params(self) -> int:
        return self.tensors()[-1].stop

    def tensor(self, name: str) -> TensorSpec:
        for t in self.tensors():
            if t.name == name:
                return t
        raise KeyError(f"{self.family} NF has no tensor {name!r}")

    def flops_per_point(self) -> int:
        """Multiply-adds x2 of one forward pass at one point (for GFLOP/s figures)."""
        macs = sum(i * o for _, i, o in self.linear_layers())
        if self.family == "rffnet":
            macs += self.rff_features * self.in_dim
        return 2 * macs

    # ------------------------------------------------------------ persistence
    def to_json(self) -> str:
        return json.dumps({"arch": asdict(self), "num_params": self.num_params,
                           "tensors": [{"name": t.name, "shape": list(t.shape), "offset": t.offset,
                                        "trainable": t.trainable} for t in self.tensors()]}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "ArchSpec":
        data = json.loads(text)
        spec = cls(**data["arch"])
        if "num_params" in data and data["num_params"] != spec.num_params:
            raise ValueError(f"arch.json: num_params {data['num_params']} does not match the layout "
                             f"({spec.num_params}); the file was written by an incompatible version")
        return spec


def trainable_mask(spec: ArchSpec) -> "list[tuple[int, int]]":
    """Index ranges ``[start, stop)`` of the trainable entries of the flat vector."""
    return [(t.offset, t.stop) for t in spec.tensors() if t.trainable]

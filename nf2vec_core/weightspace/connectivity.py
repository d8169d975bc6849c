"""Linear mode connectivity and git re-basin weight matching for NFs (paper 000 §VIII).

* :func:`linear_connectivity`: the loss of ``theta(a) = (1 - a) theta_A + a theta_B`` on one
  signal for ``a`` in ``[0, 1]``, every interpolation point evaluated at once (the ``T``
  interpolated vectors form a ``[T, P]`` batch for :func:`nf2vec_core.nf.functional.forward`).
  Paper 000 Fig. 25: NFs of the same shape fitted from the *same* initialisation are linearly
  connected (flat curve); from *different* initialisations the curve has a high barrier.
* Hidden-neuron permutations: :func:`permutation_groups` lists the permutation symmetries of an
  architecture (one group per hidden layer; RFFNet also its Fourier features, each ``sin``/``cos``
  pair moving together), :func:`permute_vector` applies permutations to flat vectors as one
  gather (the function computed is unchanged).
* :func:`match_weights`: "weight matching" of Ainsworth et al., *Git Re-Basin* (ICLR 2023) §3.2:
  coordinate ascent on ``sum_l <W_l^A, P_l W_l^B P_{l-1}^T>`` (biases included); each step
  solves one layer's permutation exactly with ``scipy.optimize.linear_sum_assignment`` on the
  ``[n, n]`` correlation of the two networks' weights touching that layer (rows in, columns out),
  layers visited in a random order, until a full sweep brings no improvement. Paper 000 reports
  identity permutations for NFs fitted from a shared initialisation and far-from-identity ones
  otherwise; :class:`WeightMatch` says which.

Permutation convention: ``perm[i] = j`` means neuron ``i`` of the permuted network is neuron ``j``
of the original (``index_select`` with ``perm`` along the neuron axis of every tensor touching
the layer). ``match_weights(A, B)`` returns the permutations that map ``B`` onto ``A``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from ..errors import BadInputError, ConfigError
from ..fitting.engine import evaluate as nf_evaluate
from ..fitting.engine import per_nf_loss
from ..nf.layout import ArchSpec

LOSSES: tuple[str, ...] = ("mse", "bce", "l1")


# ----------------------------------------------------------------------------- permutations
@dataclass(frozen=True)
class PermGroup:
    """One permutation symmetry: ``size`` neurons; ``members`` are ``(tensor, axis)`` pairs (axis
    of the tensor's view, see :func:`tensor_views`) along which the neurons are indexed."""

    name: str
    size: int
    members: tuple[tuple[str, int], ...]


def tensor_views(spec: ArchSpec) -> dict[str, tuple[int, ...]]:
    """Shape under which each tensor is permuted: its own shape, except RFFNet's ``l0.weight``
    ``[h, 2F]`` seen as ``[h, 2, F]`` (column ``k`` reads ``sin_k``, column ``F + k`` reads ``cos_k``)."""
    views = {t.name: t.shape for t in spec.tensors()}
    if spec.family == "rffnet":
        views["l0.weight"] = (spec.hidden, 2, spec.rff_features)
    return views


def permutation_groups(spec: ArchSpec) -> list[PermGroup]:
    """The hidden-neuron permutation symmetries of ``spec`` (inputs and outputs never move)."""
    h, d = spec.hidden, spec.depth
    groups: list[PermGroup] = []
    if spec.family in ("siren", "rffnet"):
        if spec.family == "rffnet":
            groups.append(PermGroup("fourier", spec.rff_features, (("fourier.weight", 0), ("l0.weight", 2))))
        for i in range(d):
            nxt = f"l{i + 1}.weight" if i + 1 < d else "out.weight"
            groups.append(PermGroup(f"hidden{i + 1}", h, ((f"l{i}.weight", 0), (f"l{i}.bias", 0), (nxt, 1))))
    elif spec.family == "mfn":
        for i in range(d):
            members = [(f"filter{i}.weight", 0), (f"filter{i}.bias", 0)]
            if i > 0:
                members += [(f"l{i - 1}.weight", 0), (f"l{i - 1}.bias", 0)]
            members.append((f"l{i}.weight", 1) if i + 1 < d else ("out.weight", 1))
            groups.append(PermGroup(f"hidden{i + 1}", h, tuple(members)))
    else:
        raise BadInputError(None, f"weightspace.connectivity: unsupported NF family {spec.family!r}")
    return groups


def identity_permutations(spec: ArchSpec) -> dict[str, torch.Tensor]:
    """``{group: arange(size)}`` for every group of ``spec``."""
    return {g.name: torch.arange(g.size) for g in permutation_groups(spec)}


def random_permutations(spec: ArchSpec, seed: int) -> dict[str, torch.Tensor]:
    """A random permutation per group, drawn from ``seed``."""
    gen = torch.Generator().manual_seed(int(seed))
    return {g.name: torch.randperm(g.size, generator=gen) for g in permutation_groups(spec)}


def invert_permutations(perms: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse of every permutation (``permute(permute(x, p), invert(p)) == x``)."""
    return {k: torch.argsort(torch.as_tensor(v)) for k, v in perms.items()}


def _check_perms(spec: ArchSpec, perms: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    groups = {g.name: g for g in permutation_groups(spec)}
    unknown = sorted(set(perms) - set(groups))
    if unknown:
        raise BadInputError(None, f"permutations: unknown group {unknown[0]!r} for {spec.family} "
                                  f"(groups: {sorted(groups)})")
    out = {}
    for name, p in perms.items():
        t = torch.as_tensor(p).long().cpu().reshape(-1)
        if t.numel() != groups[name].size or not torch.equal(torch.sort(t).values, torch.arange(t.numel())):
            raise BadInputError(None, f"permutations: {name!r} is not a permutation of "
                                      f"0..{groups[name].size - 1}")
        out[name] = t
    return out


def permutation_index(spec: ArchSpec, perms: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Index ``[P]`` such that ``theta[..., index]`` applies ``perms`` (groups left out = identity)."""
    perms = _check_perms(spec, perms)
    views = tensor_views(spec)
    acting: dict[str, list[tuple[str, int]]] = {}
    for g in permutation_groups(spec):
        if g.name in perms:
            for tensor, axis in g.members:
                acting.setdefault(tensor, []).append((g.name, axis))
    idx = torch.arange(spec.num_params)
    for t in spec.tensors():
        if t.name not in acting:
            continue
        block = idx[t.offset:t.stop].view(views[t.name])
        for gname, axis in acting[t.name]:
            block = block.index_select(axis, perms[gname])
        idx[t.offset:t.stop] = block.reshape(-1)
    return idx


def permute_vector(spec: ArchSpec, theta: torch.Tensor, perms: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Apply hidden-neuron permutations to NF vectors ``theta [..., P]``; the function is unchanged."""
    if theta.shape[-1] != spec.num_params:
        raise BadInputError(None, f"permute_vector: vectors have {theta.shape[-1]} entries, "
                                  f"{spec.family} {spec.depth}x{spec.hidden} expects {spec.num_params}")
    return theta.index_select(-1, permutation_index(spec, perms).to(theta.device))


# ----------------------------------------------------------------------------- matching
@dataclass
class WeightMatch:
    """Result of :func:`match_weights`.

    Attributes:
        perms: ``{group: LongTensor [n]}`` mapping B onto A (``aligned = permute_vector(B, perms)``).
        aligned: ``[P]`` the permuted B (same dtype/device as the input B).
        is_identity: every permutation is the identity (B was already aligned with A).
        identity_fraction: per group, the fraction of neurons left in place.
        iterations: sweeps over all groups until no improvement (at most ``max_iter``).
        distance_before, distance_after: ``||A - B||`` and ``||A - aligned||``.
    """

    perms: dict[str, torch.Tensor]
    aligned: torch.Tensor
    is_identity: bool
    identity_fraction: dict[str, float]
    iterations: int
    distance_before: float
    distance_after: float


def _vector_1d(spec: ArchSpec, theta: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(theta, torch.Tensor) or theta.dim() != 1 or theta.shape[0] != spec.num_params:
        shape = tuple(theta.shape) if isinstance(theta, torch.Tensor) else type(theta).__name__
        raise BadInputError(None, f"{name}: expected one NF vector [{spec.num_params}], got {shape}")
    if not torch.isfinite(theta).all():
        raise BadInputError(None, f"{name}: contains NaN or Inf")
    return theta


def match_weights(spec: ArchSpec, theta_a: torch.Tensor, theta_b: torch.Tensor, *, max_iter: int = 100,
                  seed: int = 0) -> WeightMatch:
    """Git re-basin weight matching: permutations of B's hidden neurons that best align B with A.

    Args:
        spec: the common architecture; theta_a, theta_b: ``[P]`` vectors.
        max_iter: maximum number of sweeps over the layers.
        seed: order in which layers are visited in each sweep.
    """
    a64 = _vector_1d(spec, theta_a, "theta_a").detach().cpu().double()
    b64 = _vector_1d(spec, theta_b, "theta_b").detach().cpu().double()
    if int(max_iter) < 1:
        raise BadInputError(None, f"match_weights: max_iter must be >= 1, got {max_iter}")
    groups = permutation_groups(spec)
    views = tensor_views(spec)
    offsets = {t.name: (t.offset, t.stop) for t in spec.tensors()}

    def view(theta: torch.Tensor, tensor: str, axis: int, n: int) -> torch.Tensor:
        lo, hi = offsets[tensor]
        return theta[lo:hi].view(views[tensor]).movedim(axis, 0).reshape(n, -1)

    perms = identity_permutations(spec)
    rng = np.random.default_rng(int(seed))
    iterations = 0
    for iterations in range(1, int(max_iter) + 1):
        progress = False
        for gi in rng.permutation(len(groups)):
            g = groups[gi]
            others = {k: v for k, v in perms.items() if k != g.name}
            pb = permute_vector(spec, b64, others)
            corr = torch.zeros(g.size, g.size, dtype=torch.float64)
            for tensor, axis in g.members:
                corr += view(a64, tensor, axis, g.size) @ view(pb, tensor, axis, g.size).T
            _, cols = linear_sum_assignment(corr.numpy(), maximize=True)
            new = torch.from_numpy(cols).long()
            rows = torch.arange(g.size)
            gain = float(corr[rows, new].sum() - corr[rows, perms[g.name]].sum())
            if gain > 1e-12 * max(1.0, float(corr.abs().max())):
                progress = True
                perms[g.name] = new
        if not progress:
            break
    aligned = permute_vector(spec, theta_b, perms)
    ident = {k: float((v == torch.arange(v.numel())).double().mean()) for k, v in perms.items()}
    return WeightMatch(perms=perms, aligned=aligned, is_identity=all(f == 1.0 for f in ident.values()),
                       identity_fraction=ident, iterations=iterations,
                       distance_before=float((a64 - b64).norm()),
                       distance_after=float((a64 - aligned.detach().cpu().double()).norm()))


# ------------------------------------------------------------------------- connectivity
@dataclass
class ConnectivityCurve:
    """Loss along the straight line between two NFs: ``alphas [T]`` (0 = A, 1 = B), ``losses [T]``."""

    alphas: torch.Tensor
    losses: torch.Tensor

    @property
    def barrier(self) -> float:
        """Largest excess of the loss over the linear interpolation of the endpoint losses
        (Frankle et al. 2020; ~0 = linearly mode connected)."""
        a = self.alphas.double()
        line = (1 - a) * self.losses[0].double() + a * self.losses[-1].double()
        return float((self.losses.double() - line).max())


def interpolate(theta_a: torch.Tensor, theta_b: torch.Tensor, alphas: torch.Tensor) -> torch.Tensor:
    """``[(1 - a) theta_A + a theta_B for a in alphas]`` as a ``[T, P]`` batch."""
    al = alphas.to(theta_a.dtype).to(theta_a.device).unsqueeze(1)
    return (1 - al) * theta_a.unsqueeze(0) + al * theta_b.unsqueeze(0)


def linear_connectivity(spec: ArchSpec, theta_a: torch.Tensor, theta_b: torch.Tensor, coords: torch.Tensor,
                        values: torch.Tensor, *, loss: str = "mse", steps: int = 11,
                        alphas: Sequence[float] | torch.Tensor | None = None,
                        chunk_points: int | None = None) -> ConnectivityCurve:
    """Loss of the interpolated NFs between ``theta_a`` and ``theta_b`` (two fits of one signal).

    Args:
        spec: the common architecture; theta_a, theta_b: ``[P]`` vectors.
        coords: ``[M, in_dim]`` points; values: ``[M, out_dim]`` targets at those points.
        loss: ``mse``, ``bce`` (outputs are logits) or ``l1``, as in fitting.
        steps: number of evenly spaced ``alphas`` in ``[0, 1]`` (used when ``alphas`` is None).
        alphas: explicit interpolation coefficients (need not lie in ``[0, 1]``).
        chunk_points: points evaluated per forward call (default: cache-sized on CPU, see
            :func:`~nf2vec_core.runtime.eval_chunk`).

    Returns:
        :class:`ConnectivityCurve`; ``losses[k]`` is the mean loss over the ``M`` points.
    """
    _vector_1d(spec, theta_a, "theta_a")
    _vector_1d(spec, theta_b, "theta_b")
    if loss not in LOSSES:
        raise ConfigError(f"linear_connectivity: unknown loss {loss!r}; expected one of {list(LOSSES)}")
    if coords.dim() != 2 or coords.shape[1] != spec.in_dim:
        raise BadInputError(None, f"linear_connectivity: coords must be [M, {spec.in_dim}], got {tuple(coords.shape)}")
    if values.dim() != 2 or values.shape != (coords.shape[0], spec.out_dim):
        raise BadInputError(None, f"linear_connectivity: values must be [{coords.shape[0]}, {spec.out_dim}], "
                                  f"got {tuple(values.shape)}")
    if alphas is None:
        if int(steps) < 2:
            raise BadInputError(None, f"linear_connectivity: steps must be >= 2, got {steps}")
        al = torch.linspace(0.0, 1.0, int(steps), dtype=torch.float64)
    else:
        al = torch.as_tensor(alphas, dtype=torch.float64).reshape(-1)
        if al.numel() == 0:
            raise BadInputError(None, "linear_connectivity: alphas is empty")
    thetas = interpolate(theta_a, theta_b, al)
    x = coords.to(device=thetas.device, dtype=thetas.dtype)
    out = nf_evaluate(spec, thetas, x, chunk_points=chunk_points)
    y = values.to(device=out.device, dtype=out.dtype).unsqueeze(0).expand_as(out)
    with torch.no_grad():
        losses = per_nf_loss(out, y, loss)
    return ConnectivityCurve(alphas=al, losses=losses.detach().cpu())


__all__ = ["PermGroup", "tensor_views", "permutation_groups", "identity_permutations", "random_permutations",
           "invert_permutations", "permutation_index", "permute_vector", "WeightMatch", "match_weights",
           "ConnectivityCurve", "interpolate", "linear_connectivity"]

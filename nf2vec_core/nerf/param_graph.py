"""Parameter-graph descriptions of NeRFs (Ballerini et al. 2025, "Embed Any NeRF", §3 and Fig. 2;
the grid construction of Lim et al. 2024), for :func:`nf2vec_core.encoders.param_graph.param_graphs`.

Every NeRF is coordinates -> (grid features, fixed encoding) -> MLP -> 4 outputs:

* layer 0: the 3 ``xyz`` coordinate nodes (ordered) and, for grid NeRFs, a node per cell of each
  grid level (tri-plane: the ``R x R`` cells of each plane);
* layer 1, the MLP's input: a node per feature channel (``C`` when the planes are summed, ``3C``
  when concatenated, ``L*F`` for a multiresolution grid; unordered, as permuting the channels
  with the matching columns of ``l0`` is a symmetry), fed by a ``grid`` edge per stored feature
  from its cell, the cell's position on the edge; then the frequency-encoding features in the
  order of :func:`~nf2vec_core.nerf.arch.encode_frequencies` (``[xyz?, sin 2^k pi u_d, cos ...]``,
  attributes ``[k, is_sin, is_cos, axis]``), each with a fixed ``encoding`` edge from its
  coordinate node;
* layers 2.. ``depth + 1``: the hidden neurons; layer ``depth + 2``: the 4 outputs (ordered); a bias
  node per linear layer.

Tri-plane ``p`` (axes ``(a, b)`` = :data:`~nf2vec_core.nerf.arch.PLANE_AXES` ``[p]``) is stored
channel-major, ``planes [3, C, R, R]``: texel ``(row r, col c)`` of channel ``k`` is at
``p*C*R*R + k*R*R + r*R + c`` and sits at ``u_a = c / (R - 1)``, ``u_b = r / (R - 1)`` (rows follow
``b``, columns ``a``), which is what its edge's positional slots hold.

Hash grid (``tables [L, T, F]``, :mod:`.hashgrid`): the levels of
:func:`nf2vec_core.encoders.graph_archs.multires_grid_levels` feed ``L*F`` channel nodes (level
``l``: channels ``l*F ..``); a coarse level that indexes its ``(N_l + 1)^3`` vertices one-to-one has
a cell node per vertex at ``u = vertex / N_l`` (its unread rows past ``(N_l + 1)^3`` are left out of
the graph), a hashed level a cell node per table row (no position). Permuting the ``F`` features
of one level (all its rows alike) with the matching columns of ``l0`` is a symmetry.

A grid NeRF of another kind needs only its levels and its MLP tensors, given to
:func:`grid_mlp_graph_arch`; :func:`nerf_graph_arch` is where a new ``NerfArch.kind`` is dispatched.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from ..encoders.graph_archs import multires_grid_levels, phase_attrs
from ..encoders.param_graph import NODE_ATTR_DIM, DenseBlock, EncodingBlock, GraphArch, GridBlock, GridLevel, NodeGroup
from ..errors import BadInputError
from ..nf.layout import TensorSpec
from .arch import PLANE_AXES, NerfArch


def encoding_groups(num_freqs: int, include_xyz: bool) -> tuple[NodeGroup, EncodingBlock] | None:
    """The frequency-encoding node group (layer 1) and its edges from the ``xyz`` nodes, or None
    without an encoding."""
    size = 6 * num_freqs + (3 if include_xyz else 0)
    if size == 0:
        return None
    rows: list[tuple[float, ...]] = []
    axis: list[int] = []
    if include_xyz:
        for d in range(3):
            row = [0.0] * NODE_ATTR_DIM
            row[3 + d] = 1.0
            rows.append(tuple(row))
        axis += [0, 1, 2]
    if num_freqs:
        ax = [d for d in range(3) for _ in range(num_freqs)]            # feature index d*L + k
        rows += phase_attrs(3 * num_freqs, octave=[k for _ in range(3) for k in range(num_freqs)], axis=ax)
        axis += ax + ax
    return (NodeGroup("encoding", size, "encoding", 1, attrs=tuple(rows)),
            EncodingBlock("xyz", "encoding", tuple(axis)))


def grid_mlp_graph_arch(name: str, num_params: int, levels: Sequence[GridLevel], channels: int,
                        num_freqs: int, include_xyz: bool,
                        mlp: Sequence[tuple[TensorSpec, TensorSpec]]) -> GraphArch:
    """Graph of a NeRF ``xyz -> [grid channels (channels), encoding] -> MLP``: ``levels`` feed the
    ``channels`` channel nodes (none: an MLP NeRF), ``mlp`` lists ``(weight, bias)`` of each
    linear layer, the last one being the output layer. See the module docstring."""
    groups = [NodeGroup("xyz", 3, "input", 0, ordered=True)]
    groups += [NodeGroup(lv.cells, lv.num_cells, "cell", 0) for lv in levels]
    blocks: list = []
    first: list[str] = []
    if levels:
        groups.append(NodeGroup("channels", channels, "channel", 1))
        blocks.append(GridBlock("channels", tuple(levels)))
        first.append("channels")
    enc = encoding_groups(num_freqs, include_xyz)
    if enc is not None:
        groups.append(enc[0])
        blocks.append(enc[1])
        first.append("encoding")
    if not first or not mlp:
        raise BadInputError(None, f"nerf param graph {name}: needs MLP inputs (grid or encoding) and an MLP")
    prev: tuple[str, ...] = tuple(first)
    for i, (w, b) in enumerate(mlp):
        last = i == len(mlp) - 1
        dst = "output" if last else f"hidden{i + 1}"
        groups.append(NodeGroup(dst, w.shape[0], "output" if last else "hidden", 2 + i, ordered=last))
        blocks.append(DenseBlock(prev, dst, w, b))
        prev = (dst,)
    return GraphArch(name, num_params, tuple(groups), tuple(blocks))


def triplane_levels(arch: NerfArch, offset: int) -> tuple[GridLevel, ...]:
    """The three planes of ``planes [3, C, R, R]`` at ``offset`` as grid levels (module docstring)."""
    c, r = arch.plane_channels, arch.plane_res
    return tuple(GridLevel(f"plane{p}", offset + p * c * r * r, (r, r), c, channel_major=True,
                           channel_offset=p * c if arch.plane_reduce == "concat" else 0, axes=(b, a))
                 for p, (a, b) in enumerate(PLANE_AXES))


@lru_cache(maxsize=32)
def nerf_graph_arch(arch: NerfArch) -> GraphArch:
    """The parameter-graph description of a NeRF of architecture ``arch``."""
    t = {ts.name: ts for ts in arch.tensors()}
    mlp = [(t[f"{n}.weight"], t[f"{n}.bias"]) for n, _, _ in arch.linear_layers()]
    if arch.kind == "mlp":
        levels: tuple[GridLevel, ...] = ()
        channels = 0
    elif arch.kind == "triplane":
        levels = triplane_levels(arch, t["planes"].offset)
        channels = arch.plane_channels * (3 if arch.plane_reduce == "concat" else 1)
    elif arch.kind == "hash":
        levels, _ = multires_grid_levels(t["tables"].offset, arch.hash_resolutions, arch.hash_table_size,
                                         arch.hash_features)
        channels = arch.hash_levels * arch.hash_features
    else:
        raise BadInputError(None, f"nerf param graph: no graph for NeRF kind {arch.kind!r}")
    name = f"nerf {arch.kind} {arch.depth}x{arch.hidden}"
    if arch.kind == "triplane":
        name += f" {arch.plane_res}^2x{channels}"
    elif arch.kind == "hash":
        name += (f" L{arch.hash_levels} T2^{arch.hash_log2_size} F{arch.hash_features} "
                 f"N{arch.hash_base_res} b{arch.hash_growth:g}")
    return grid_mlp_graph_arch(name, arch.num_params, levels, channels, arch.num_freqs, arch.include_xyz, mlp)


__all__ = ["nerf_graph_arch", "grid_mlp_graph_arch", "triplane_levels", "encoding_groups"]

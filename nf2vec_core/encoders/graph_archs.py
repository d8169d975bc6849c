"""Parameter-graph descriptions (:class:`~nf2vec_core.encoders.param_graph.GraphArch`) of the shape NF
families and of multiresolution grid levels.

Shape NFs (:class:`~nf2vec_core.nf.layout.ArchSpec`), layer by layer:

* ``siren``: input coordinates (layer 0, ordered) -> ``depth`` hidden layers -> outputs (ordered);
  raw stored weights on the edges (``w0`` is a constant of the family, not a parameter).
* ``rffnet``: input coordinates -> ``2F`` Fourier features (layer 1, type ``encoding``, ``sin``
  features then ``cos``; unordered: permuting the rows of ``B`` with the matching columns of
  ``l0`` is a symmetry) with the effective frequencies ``rff_std * B`` on ``fourier`` edges, each
  entry of ``B`` on the edge to its ``sin`` and to its ``cos`` node -> ReLU layers -> outputs.
* ``mfn``: filter ``i`` (``filter`` edges from the inputs, its phase on a ``filter_bias`` bias
  node) feeds hidden layer ``i + 1``; linear layers ``l{i}`` (``linear`` edges) map hidden layer
  ``i + 1`` to ``i + 2``; outputs from the last hidden layer.

Multiresolution grids (Müller et al. 2022; the layout of :mod:`nf2vec_core.nerf.hashgrid`):
:func:`multires_grid_levels` describes ``L`` tables of ``T`` rows of ``F`` features stored level
after level (``[L, T, F]``). Level ``l`` of resolution ``N_l`` has ``(N_l + 1)^3`` vertices; when
they fit the table it indexes them one-to-one (vertex ``(x, y, z)`` at row ``x + s (y + s z)``,
``s = N_l + 1``, at ``u = (x, y, z) / N_l``: cells at known positions) and its rows past ``s^3``
are never read, so they are not in the graph (they do not change the field); otherwise all ``T``
rows are hashed (no positions). Level ``l`` feeds the ``F`` channel nodes ``l*F .. l*F + F - 1``
(the features are concatenated level by level), like the planes of a tri-plane. A NeRF describer
hands them to :func:`nf2vec_core.nerf.param_graph.grid_mlp_graph_arch`.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from ..nf.layout import ArchSpec
from .param_graph import NODE_ATTR_DIM, DenseBlock, GraphArch, GridLevel, NodeGroup


def phase_attrs(count: int, *, octave: Sequence[float] | None = None,
                axis: Sequence[int] | None = None) -> tuple[tuple[float, ...], ...]:
    """Attribute rows ``[octave, is_sin, is_cos, axis one-hot]`` of ``2 * count`` encoding nodes,
    the ``sin`` features first, then the ``cos`` ones (feature ``i`` and ``count + i`` share
    ``octave[i]`` and ``axis[i]``; omitted: 0 / no axis)."""
    rows = []
    for phase in (0, 1):
        for i in range(count):
            row = [0.0] * NODE_ATTR_DIM
            row[0] = float(octave[i]) if octave is not None else 0.0
            row[1 + phase] = 1.0
            if axis is not None:
                row[3 + int(axis[i])] = 1.0
            rows.append(tuple(row))
    return tuple(rows)


@lru_cache(maxsize=32)
def shape_graph_arch(spec: ArchSpec) -> GraphArch:
    """The parameter-graph description of a shape NF (module docstring)."""
    t = {ts.name: ts for ts in spec.tensors()}
    fam, d, h = spec.family, spec.depth, spec.hidden
    groups = [NodeGroup("input", spec.in_dim, "input", 0, ordered=True)]
    blocks: list[DenseBlock] = []
    first = 1
    if fam == "rffnet":
        f = spec.rff_features
        groups.append(NodeGroup("fourier", 2 * f, "encoding", 1, attrs=phase_attrs(f)))
        blocks.append(DenseBlock(("input",), "fourier", t["fourier.weight"], kind="fourier",
                                 scale=float(spec.rff_std), tile=2))
        first = 2
    groups += [NodeGroup(f"hidden{i + 1}", h, "hidden", first + i) for i in range(d)]
    groups.append(NodeGroup("output", spec.out_dim, "output", first + d, ordered=True))
    if fam == "mfn":
        blocks += [DenseBlock(("input",), f"hidden{i + 1}", t[f"filter{i}.weight"], t[f"filter{i}.bias"], kind="filter")
                   for i in range(d)]
        blocks += [DenseBlock((f"hidden{i + 1}",), f"hidden{i + 2}", t[f"l{i}.weight"], t[f"l{i}.bias"])
                   for i in range(d - 1)]
    else:
        prev = "fourier" if fam == "rffnet" else "input"
        for i in range(d):
            blocks.append(DenseBlock((prev,), f"hidden{i + 1}", t[f"l{i}.weight"], t[f"l{i}.bias"]))
            prev = f"hidden{i + 1}"
    blocks.append(DenseBlock((f"hidden{d}",), "output", t["out.weight"], t["out.bias"]))
    blocks.sort(key=lambda b: b.weight.offset)               # edges in the order of the flat vector
    name = f"{fam} {d}x{h} ({spec.in_dim}->{spec.out_dim})"
    return GraphArch(name, spec.num_params, tuple(groups), tuple(blocks))


def multires_grid_levels(offset: int, resolutions: Sequence[int], table_size: int, features: int, *,
                         prefix: str = "level") -> tuple[tuple[GridLevel, ...], int]:
    """Levels of a 3-D multiresolution grid stored as ``tables [L, table_size, features]`` from
    ``offset`` (module docstring): level ``l`` of resolution ``resolutions[l]`` is dense (its
    ``(res + 1)^3`` vertex rows, the first ones of its table, at known positions) when they fit
    ``table_size``, else ``table_size`` hashed rows. Returns the levels (cell groups
    ``{prefix}{l}``) and the flat index after the last table."""
    levels = []
    for lvl, res in enumerate(resolutions):
        side = int(res) + 1
        dense = side ** 3 <= table_size
        spatial = (side, side, side) if dense else (table_size,)
        levels.append(GridLevel(f"{prefix}{lvl}", offset, spatial, features, channel_major=False,
                                channel_offset=lvl * features, axes=(2, 1, 0) if dense else None,
                                resolution=float(res)))
        offset += table_size * features
    return tuple(levels), offset


__all__ = ["shape_graph_arch", "multires_grid_levels", "phase_attrs"]

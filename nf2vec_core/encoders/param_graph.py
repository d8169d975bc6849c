"""Parameter graphs of neural fields of any architecture (Lim et al. 2024, "Graph Metanetworks for
Processing Diverse Neural Architectures"; used on NeRFs by Ballerini et al. 2025, "Embed Any NeRF",
§3): every parameter is one edge, so graphs of different architectures are inputs of one graph
network.

An architecture is described as data (:class:`GraphArch`: node groups and the blocks of parameters
between them, each naming its tensor in the flat vector ``theta``); :func:`graph_structure` turns
any description into index tensors by one code path, and :func:`param_graphs` gathers the edge
values of ``N`` NFs of that architecture. The describers of the families live beside the families:
:mod:`nf2vec_core.encoders.graph_archs` (SIREN, RFFNet, MFN; grid levels),
:mod:`nf2vec_core.nerf.param_graph` (MLP, tri-plane and grid NeRFs).

Blocks:

* :class:`DenseBlock` -- a linear layer ``W [out, in]``: one edge per weight from the neuron it
  reads to the neuron it writes; its bias ``b [out]`` is one extra *bias node* per layer with an
  edge to every neuron of the layer holding ``b_i``. ``tile`` repeats the weight over ``tile``
  copies of the destination (RFFNet: each row of ``B`` feeds a ``sin`` and a ``cos`` node, so its
  entries sit on two edges); ``scale`` multiplies the stored values (RFFNet: ``rff_std``).
* :class:`GridBlock` -- spatial feature grids (tri-planes, dense or hashed grid levels): a node per
  cell of each level, a node per feature channel, an edge per stored feature from its cell to its
  channel. The cell's position is an edge attribute (positional slots below). Several levels can
  feed one channel group (tri-planes summed) or disjoint ranges of it (concatenated planes,
  hash-grid levels).
* :class:`EncodingBlock` -- fixed, parameter-free edges from a coordinate node to each feature of a
  fixed input encoding (NeRF frequency encoding); value 0.

Node features (:class:`GraphBatch`): ``node_type`` (index into :data:`NODE_TYPES`), ``node_layer``
(0 = the graph's sources: input coordinates and grid cells; then one layer per activation;
bias nodes take the layer they feed), ``node_order`` (position in its layer of a neuron with a
fixed meaning: input coordinate, output channel; ``-1`` for permutable nodes: hidden neurons,
grid channels, Fourier features, bias nodes and cells) and ``node_attr [V, NODE_ATTR_DIM]``
(encoding features: ``[octave, is_sin, is_cos, axis_x, axis_y, axis_z]``; zeros elsewhere).

Edge features: ``edge_value`` (the parameter), ``edge_type`` (index into :data:`EDGE_TYPES`),
``edge_layer`` (the layer of its destination) and ``edge_pos [E, EDGE_POS_DIM]``: for grid edges
``[u_x, u_y, u_z, m_x, m_y, m_z, log2 res]``, the cell's position ``u`` in ``[0, 1]`` on the axes
the level spans (``m = 1``; 0 elsewhere, and on every axis of a hashed level, whose entries have no
single position) and the level's resolution; zeros on other edges.

Permuting the hidden neurons (or grid channels, or Fourier features) of an NF permutes nodes and
edges of its graph and changes no feature: a graph network reading these graphs is invariant to
those symmetries.

A batch of graphs is one big disjoint graph (:class:`GraphBatch`: node and edge tensors
concatenated, edge endpoints offset by the nodes before them, ``node_graph``/``edge_graph`` naming
each item's graph), so graphs of different sizes and architectures go through one forward pass.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Sequence

import torch

from ..errors import BadInputError
from ..nf.layout import TensorSpec

NODE_TYPES: tuple[str, ...] = ("input", "encoding", "cell", "channel", "hidden", "output", "bias")
EDGE_TYPES: tuple[str, ...] = ("linear", "linear_bias", "filter", "filter_bias", "fourier", "encoding", "grid")
NODE_ATTR_DIM = 6
EDGE_POS_DIM = 7
NodeType = Literal["input", "encoding", "cell", "channel", "hidden", "output", "bias"]
DenseKind = Literal["linear", "filter", "fourier"]


@dataclass(frozen=True)
class NodeGroup:
    """``size`` nodes of one type in one layer. ``ordered``: node ``i`` gets ``order = i`` (neurons
    with a fixed meaning), else ``-1``. ``attrs``: one row of ``NODE_ATTR_DIM`` floats per node, or
    empty (zeros)."""

    name: str
    size: int
    node_type: NodeType
    layer: int
    ordered: bool = False
    attrs: tuple[tuple[float, ...], ...] = ()


@dataclass(frozen=True)
class DenseBlock:
    """A linear layer from the nodes of ``src`` (groups concatenated in order, ``weight.shape[1]``
    in all) to ``dst`` (``tile * weight.shape[0]`` nodes); see the module docstring."""

    src: tuple[str, ...]
    dst: str
    weight: TensorSpec
    bias: TensorSpec | None = None
    kind: DenseKind = "linear"
    scale: float = 1.0
    tile: int = 1


@dataclass(frozen=True)
class EncodingBlock:
    """Fixed edges ``src[axis[j]] -> dst[j]`` (``axis[j] < 0``: node ``j`` has no such edge)."""

    src: str
    dst: str
    axis: tuple[int, ...]


@dataclass(frozen=True)
class GridLevel:
    """One grid level (a plane of a tri-plane, a level of a multiresolution grid).

    ``cells``: its node group (``prod(spatial)`` nodes, row-major over ``spatial``); ``offset``: the
    flat index of its first feature; ``spatial``: cells per storage dimension (``(R, R)`` for a
    plane, ``(T,)`` for a hash table); ``channel_major``: storage ``[C, *spatial]`` (else
    ``[*spatial, C]``); ``channel_offset``: the first node of the block's channel group it feeds;
    ``axes``: the xyz axis each spatial dimension follows (cell ``i`` of a dimension of ``n`` cells
    sits at ``u = i / (n - 1)``), ``None`` for a hashed level; ``resolution``: the level's grid
    resolution (the ``log2 res`` slot; 0: ``max(spatial)``).
    """

    cells: str
    offset: int
    spatial: tuple[int, ...]
    channels: int
    channel_major: bool = True
    channel_offset: int = 0
    axes: tuple[int, ...] | None = None
    resolution: float = 0.0

    @property
    def num_cells(self) -> int:
        return math.prod(self.spatial)

    @property
    def numel(self) -> int:
        return self.num_cells * self.channels


@dataclass(frozen=True)
class GridBlock:
    """Grid levels feeding the channel group ``dst``."""

    dst: str
    levels: tuple[GridLevel, ...]


Block = DenseBlock | EncodingBlock | GridBlock


@dataclass(frozen=True)
class GraphArch:
    """An architecture as a parameter graph: node groups (in node order; bias nodes follow, one per
    biased :class:`DenseBlock` in block order) and blocks (in edge order) over ``theta [num_params]``."""

    name: str
    num_params: int
    groups: tuple[NodeGroup, ...]
    blocks: tuple[Block, ...]


class _Counts:
    """``num_nodes`` and ``num_edges`` of a graph with ``node_type [V]`` and ``edge_src [E]``."""

    node_type: torch.Tensor
    edge_src: torch.Tensor

    @property
    def num_nodes(self) -> int:
        return int(self.node_type.shape[0])

    @property
    def num_edges(self) -> int:
        return int(self.edge_src.shape[0])


@dataclass(frozen=True, eq=False)
class GraphStructure(_Counts):
    """Index tensors of one architecture's graph (CPU; shared by all its NFs).

    ``edge_param [E]``: index of each edge's value in ``theta`` (``num_params``: no parameter,
    value 0); ``edge_scale [E]``: factor on the gathered value; ``group_range``: name ->
    ``(first node, stop)``; the rest as in :class:`GraphBatch`.
    """

    arch: GraphArch
    node_type: torch.Tensor
    node_layer: torch.Tensor
    node_order: torch.Tensor
    node_attr: torch.Tensor
    edge_src: torch.Tensor
    edge_dst: torch.Tensor
    edge_type: torch.Tensor
    edge_layer: torch.Tensor
    edge_pos: torch.Tensor
    edge_param: torch.Tensor
    edge_scale: torch.Tensor
    group_range: dict[str, tuple[int, int]]


@dataclass(frozen=True, eq=False)
class GraphBatch(_Counts):
    """``num_graphs`` parameter graphs as one disjoint graph.

    Nodes: ``node_type``, ``node_layer``, ``node_order`` (long ``[V]``), ``node_attr [V,
    NODE_ATTR_DIM]``, ``node_graph [V]`` (the graph of each node). Edges: ``edge_src``/``edge_dst``
    (long ``[E]``, node indices into this batch), ``edge_type``, ``edge_layer`` (long ``[E]``),
    ``edge_value [E]``, ``edge_pos [E, EDGE_POS_DIM]``, ``edge_graph [E]``. Graph ``g``'s nodes and
    edges are contiguous and in the order of its :class:`GraphStructure`.
    """

    node_type: torch.Tensor
    node_layer: torch.Tensor
    node_order: torch.Tensor
    node_attr: torch.Tensor
    node_graph: torch.Tensor
    edge_src: torch.Tensor
    edge_dst: torch.Tensor
    edge_type: torch.Tensor
    edge_layer: torch.Tensor
    edge_value: torch.Tensor
    edge_pos: torch.Tensor
    edge_graph: torch.Tensor
    num_graphs: int

    def to(self, device: torch.device | str) -> "GraphBatch":
        """A copy with every tensor on ``device``."""
        return dataclasses.replace(self, **{f.name: getattr(self, f.name).to(device)
                                            for f in dataclasses.fields(self) if f.name != "num_graphs"})


# --------------------------------------------------------------------------------------- structure
class _Edges:
    """Edge lists of the blocks, appended block by block and concatenated once."""

    def __init__(self) -> None:
        names = ("src", "dst", "type", "layer", "pos", "param", "scale")
        self.parts: dict[str, list[torch.Tensor]] = {k: [] for k in names}

    def add(self, src: torch.Tensor, dst: torch.Tensor, edge_type: str, layer: int, param: torch.Tensor,
            scale: float = 1.0, pos: torch.Tensor | None = None) -> None:
        n = src.numel()
        self.parts["src"].append(src)
        self.parts["dst"].append(dst)
        self.parts["type"].append(torch.full((n,), EDGE_TYPES.index(edge_type), dtype=torch.long))
        self.parts["layer"].append(torch.full((n,), layer, dtype=torch.long))
        self.parts["pos"].append(pos if pos is not None else torch.zeros(n, EDGE_POS_DIM))
        self.parts["param"].append(param)
        self.parts["scale"].append(torch.full((n,), float(scale)))

    def cat(self, name: str, empty: torch.Tensor) -> torch.Tensor:
        return torch.cat(self.parts[name]) if self.parts[name] else empty


def _check_tensor(arch: GraphArch, t: TensorSpec, numel: int, what: str) -> None:
    if t.numel != numel or t.offset < 0 or t.stop > arch.num_params:
        raise ValueError(f"{arch.name}: {what} {t.name} {t.shape} at {t.offset} does not fit "
                         f"({numel} values expected within {arch.num_params})")


def _cell_positions(level: GridLevel) -> torch.Tensor:
    """``[cells, EDGE_POS_DIM]`` positional slots of a level's cells (row-major over ``spatial``)."""
    pos = torch.zeros(level.num_cells, EDGE_POS_DIM)
    res = level.resolution or max(level.spatial)
    pos[:, 6] = math.log2(res)
    if level.axes is None:
        return pos
    if len(level.axes) != len(level.spatial) or len(set(level.axes)) != len(level.axes):
        raise ValueError(f"grid level {level.cells}: axes {level.axes} do not match spatial {level.spatial}")
    grids = torch.meshgrid(*[torch.arange(n) for n in level.spatial], indexing="ij")
    idx = torch.stack(grids, -1).reshape(-1, len(level.spatial))                # row-major cell order
    for dim, (axis, n) in enumerate(zip(level.axes, level.spatial)):
        pos[:, axis] = idx[:, dim].double().div(max(n - 1, 1)).float()
        pos[:, 3 + axis] = 1.0
    return pos


class _Nodes:
    """Node tables: the groups of a description in order, then the bias nodes as they are added."""

    def __init__(self, arch: GraphArch) -> None:
        self.arch = arch
        self.range: dict[str, tuple[int, int]] = {}
        self.layer: dict[str, int] = {}
        self.parts: dict[str, list[torch.Tensor]] = {k: [] for k in ("type", "layer", "order", "attr")}
        self.count = 0
        for g in arch.groups:
            if g.name in self.range or g.size < 1:
                raise ValueError(f"{arch.name}: node group {g.name!r} is repeated or empty")
            if g.attrs and (len(g.attrs) != g.size or any(len(a) != NODE_ATTR_DIM for a in g.attrs)):
                raise ValueError(f"{arch.name}: node group {g.name!r} needs {g.size} attribute rows of {NODE_ATTR_DIM}")
            self.range[g.name] = (self.count, self.count + g.size)
            self.layer[g.name] = g.layer
            attrs = torch.tensor(g.attrs, dtype=torch.float32) if g.attrs else None
            self._append(g.size, g.node_type, g.layer, g.ordered, attrs)

    def _append(self, size: int, node_type: str, layer: int, ordered: bool, attrs: torch.Tensor | None) -> int:
        first = self.count
        self.parts["type"].append(torch.full((size,), NODE_TYPES.index(node_type), dtype=torch.long))
        self.parts["layer"].append(torch.full((size,), layer, dtype=torch.long))
        self.parts["order"].append(torch.arange(size) if ordered else torch.full((size,), -1, dtype=torch.long))
        self.parts["attr"].append(attrs if attrs is not None else torch.zeros(size, NODE_ATTR_DIM))
        self.count += size
        return first

    def __call__(self, name: str) -> torch.Tensor:
        """Node indices of group ``name``."""
        if name not in self.range:
            raise ValueError(f"{self.arch.name}: a block names the unknown node group {name!r}")
        return torch.arange(*self.range[name])

    def bias_node(self, layer: int) -> int:
        return self._append(1, "bias", layer, False, None)


def _add_dense(nodes: _Nodes, edges: _Edges, blk: DenseBlock) -> None:
    arch = nodes.arch
    src, dst, layer = torch.cat([nodes(s) for s in blk.src]), nodes(blk.dst), nodes.layer[blk.dst]
    n_out, n_in = blk.weight.shape
    _check_tensor(arch, blk.weight, src.numel() * n_out, "weight")
    if dst.numel() != blk.tile * n_out:
        raise ValueError(f"{arch.name}: {blk.weight.name} writes {n_out} x {blk.tile} nodes, "
                         f"group {blk.dst!r} has {dst.numel()}")
    row = torch.arange(n_out).repeat_interleave(n_in)                           # [out, in] row-major
    col = torch.arange(n_in).repeat(n_out)
    param = blk.weight.offset + torch.arange(n_out * n_in)
    for t in range(blk.tile):
        edges.add(src[col], dst[t * n_out + row], blk.kind, layer, param, blk.scale)
    if blk.bias is None:
        return
    if blk.kind == "fourier":
        raise ValueError(f"{arch.name}: a fourier block has no bias")
    _check_tensor(arch, blk.bias, n_out, "bias")
    bias = torch.full((n_out,), nodes.bias_node(layer), dtype=torch.long)
    for t in range(blk.tile):
        edges.add(bias, dst[t * n_out:(t + 1) * n_out], f"{blk.kind}_bias", layer,
                  blk.bias.offset + torch.arange(n_out), blk.scale)


def _add_encoding(nodes: _Nodes, edges: _Edges, blk: EncodingBlock) -> None:
    src, dst = nodes(blk.src), nodes(blk.dst)
    axis = torch.tensor(blk.axis, dtype=torch.long)
    if axis.numel() != dst.numel() or int(axis.max()) >= src.numel():
        raise ValueError(f"{nodes.arch.name}: encoding {blk.src}->{blk.dst} axis list does not match the groups")
    keep = axis >= 0
    no_param = torch.full((int(keep.sum()),), nodes.arch.num_params, dtype=torch.long)
    edges.add(src[axis[keep]], dst[keep], "encoding", nodes.layer[blk.dst], no_param)


def _add_grid(nodes: _Nodes, edges: _Edges, blk: GridBlock) -> None:
    arch, chans = nodes.arch, nodes(blk.dst)
    for lv in blk.levels:
        cells = nodes(lv.cells)
        if cells.numel() != lv.num_cells or lv.channel_offset + lv.channels > chans.numel():
            raise ValueError(f"{arch.name}: grid level {lv.cells!r} does not match its node groups")
        if lv.offset < 0 or lv.offset + lv.numel > arch.num_params:
            raise ValueError(f"{arch.name}: grid level {lv.cells!r} lies outside theta")
        cell = torch.arange(lv.num_cells).repeat_interleave(lv.channels)        # cell-major edges
        chan = torch.arange(lv.channels).repeat(lv.num_cells)
        local = chan * lv.num_cells + cell if lv.channel_major else cell * lv.channels + chan
        edges.add(cells[cell], chans[lv.channel_offset + chan], "grid", nodes.layer[blk.dst],
                  lv.offset + local, pos=_cell_positions(lv)[cell])


@lru_cache(maxsize=64)
def graph_structure(arch: GraphArch) -> GraphStructure:
    """The (cached, CPU) index tensors of ``arch``'s parameter graph; see the module docstring."""
    nodes, edges = _Nodes(arch), _Edges()
    for blk in arch.blocks:
        if isinstance(blk, DenseBlock):
            _add_dense(nodes, edges, blk)
        elif isinstance(blk, EncodingBlock):
            _add_encoding(nodes, edges, blk)
        else:
            _add_grid(nodes, edges, blk)
    long0 = torch.zeros(0, dtype=torch.long)
    n = {k: torch.cat(v) for k, v in nodes.parts.items()}
    return GraphStructure(
        arch=arch, node_type=n["type"], node_layer=n["layer"], node_order=n["order"], node_attr=n["attr"],
        edge_src=edges.cat("src", long0), edge_dst=edges.cat("dst", long0), edge_type=edges.cat("type", long0),
        edge_layer=edges.cat("layer", long0), edge_pos=edges.cat("pos", torch.zeros(0, EDGE_POS_DIM)),
        edge_param=edges.cat("param", long0), edge_scale=edges.cat("scale", torch.zeros(0)),
        group_range=dict(nodes.range))


# ----------------------------------------------------------------------------------------- batches
def param_graphs(arch: GraphArch, theta: torch.Tensor) -> GraphBatch:
    """Parameter graphs of ``N`` NFs ``theta [N, P]`` (or one ``[P]``) of architecture ``arch``:
    one gather from ``theta`` (differentiable in it); tensors on ``theta``'s device, values in its dtype."""
    if isinstance(theta, torch.Tensor) and theta.dim() == 1:
        theta = theta.unsqueeze(0)
    if not isinstance(theta, torch.Tensor) or theta.dim() != 2 or theta.shape[1] != arch.num_params:
        shape = tuple(theta.shape) if isinstance(theta, torch.Tensor) else type(theta).__name__
        raise BadInputError(None, f"param graphs: {arch.name} expects NF vectors [N, {arch.num_params}], got {shape}")
    st = graph_structure(arch)
    dev, n, v, e = theta.device, theta.shape[0], st.num_nodes, st.num_edges
    padded = torch.nn.functional.pad(theta, (0, 1))                      # index P = no parameter -> 0
    values = padded.index_select(1, st.edge_param.to(dev)) * st.edge_scale.to(dev, theta.dtype)
    node_shift = (torch.arange(n, device=dev) * v).repeat_interleave(e)

    def rep(t: torch.Tensor) -> torch.Tensor:
        t = t.to(dev)
        return t.repeat(n, *([1] * (t.dim() - 1)))

    graph_ids = torch.arange(n, device=dev)
    return GraphBatch(
        node_type=rep(st.node_type), node_layer=rep(st.node_layer), node_order=rep(st.node_order),
        node_attr=rep(st.node_attr).to(theta.dtype), node_graph=graph_ids.repeat_interleave(v),
        edge_src=rep(st.edge_src) + node_shift, edge_dst=rep(st.edge_dst) + node_shift,
        edge_type=rep(st.edge_type), edge_layer=rep(st.edge_layer), edge_value=values.reshape(-1),
        edge_pos=rep(st.edge_pos).to(theta.dtype), edge_graph=graph_ids.repeat_interleave(e), num_graphs=n)


def concat_graphs(batches: Sequence[GraphBatch]) -> GraphBatch:
    """One batch of the graphs of ``batches`` in order (node indices and graph ids offset)."""
    if not batches:
        raise BadInputError(None, "param graphs: no graphs to concatenate")
    node_off, graph_off = 0, 0
    src, dst, ngraph, egraph = [], [], [], []
    for b in batches:
        src.append(b.edge_src + node_off)
        dst.append(b.edge_dst + node_off)
        ngraph.append(b.node_graph + graph_off)
        egraph.append(b.edge_graph + graph_off)
        node_off += b.num_nodes
        graph_off += b.num_graphs

    def cat(name: str) -> torch.Tensor:
        return torch.cat([getattr(b, name) for b in batches])

    return GraphBatch(
        node_type=cat("node_type"), node_layer=cat("node_layer"), node_order=cat("node_order"),
        node_attr=cat("node_attr"), node_graph=torch.cat(ngraph), edge_src=torch.cat(src),
        edge_dst=torch.cat(dst), edge_type=cat("edge_type"), edge_layer=cat("edge_layer"),
        edge_value=cat("edge_value"), edge_pos=cat("edge_pos"), edge_graph=torch.cat(egraph),
        num_graphs=graph_off)


__all__ = ["NODE_TYPES", "EDGE_TYPES", "NODE_ATTR_DIM", "EDGE_POS_DIM", "NodeGroup", "DenseBlock", "EncodingBlock",
           "GridLevel", "GridBlock", "GraphArch", "GraphStructure", "GraphBatch", "graph_structure",
           "param_graphs", "concat_graphs"]

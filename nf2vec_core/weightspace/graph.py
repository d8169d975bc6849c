"""NFs as computational graphs (paper 004 supplementary §3, after Zhang et al. "Neural networks are
graphs!"): one node per neuron, one edge per weight, batched over NFs with no per-NF loop.

Graph of one NF (all NFs of a neural dataset share the architecture, hence the graph structure):

* **Nodes**, layer by layer: the input coordinates, every hidden neuron, the outputs. RFFNet adds
  a Fourier layer of ``2F`` nodes (``sin`` features ``0..F-1``, then ``cos``) between the inputs and
  the first ReLU layer; MFN's hidden layer ``i`` holds the neurons ``z_i``.
* **Node features** ``[N, V, nb + L + in_dim + out_dim]``: the bias channels (``nb = 1``: the
  neuron's bias, 0 for input nodes; MFN has ``nb = 2``: the linear bias and the filter phase), then
  a one-hot of the node's layer (``L`` layers), then a one-hot of the coordinate index for input
  nodes and of the channel index for output nodes (all zeros for hidden nodes, so permuting
  hidden neurons permutes the node features and nothing else).
* **Edges**: one per weight, ``src -> dst`` from the neuron the weight reads to the neuron it
  writes, feature = the weight value (``de = 1``). Edges are ordered like the flat vector: tensor
  by tensor, each ``[out, in]`` weight row-major (destination-major).

Semantics (checked by :func:`graph_forward` against :func:`nf2vec_core.nf.functional.forward`):
the pre-activation of node ``i`` is ``sum_{j -> i} w_ji a_j + b_i``; layer activations are

* SIREN: ``sin(w0_l * pre)`` (``w0_first`` on the first hidden layer), outputs linear;
* RFFNet: Fourier nodes ``sin(pre)``, where the edge weights are the *effective* Fourier weights
  ``rff_std * B`` and the ``cos`` nodes carry the constant phase ``pi/2`` as bias
  (``cos z = sin(z + pi/2)``); ReLU hidden layers, linear outputs;
* MFN: ``z_1 = sin(filter pre)``; ``z_{i+1} = (linear pre) * sin(filter pre)``, where filter edges
  are the ones leaving input nodes (bias channel 1 = phase) and linear edges come from the
  previous hidden layer (bias channel 0); linear outputs.

Representation choice: an **edge list shared by every NF** (``edge_src``/``edge_dst`` index
tensors of the layout) plus per-NF edge features ``[N, E, de]``. A dense ``[N, V, V, de]``
adjacency (:func:`to_dense`) wastes most of its entries on non-edges: SIREN 2x32 on images has
``V = 67`` nodes and ``E = 1,120`` edges (``V^2 = 4,489``, 4.0x more), SIREN 3x32 ``V = 99``,
``E = 2,144`` (``V^2 = 9,801``, 4.6x). Every edge update of the GNN is an MLP applied per edge,
so its cost scales with the number of (real or padded) edges; on this CPU one message-passing
step (batch 32 SIREN 3x32, paper sizes, forward+backward) is 5-6x faster on the edge list than
dense (timings in ``gnn.py``). Building the
graph is two ``index_select`` gathers from the flat ``[N, P]`` matrix (indices precomputed once
per architecture and cached).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache

import torch

from ..errors import BadInputError
from ..nf.layout import ArchSpec

SUPPORTED_FAMILIES: tuple[str, ...] = ("siren", "rffnet", "mfn")


@dataclass(frozen=True, eq=False)
class GraphLayout:
    """Everything about the graph that depends only on the architecture (shared by all NFs).

    Attributes:
        spec: the NF architecture.
        layer_names: one name per node layer (``input``, ``fourier``, ``hidden1``.., ``output``).
        layer_sizes: nodes per layer; ``layer_offsets[l]`` is the index of layer ``l``'s first node.
        layer_activation: per layer ``none`` (input), ``sin``, ``relu``, ``mfn`` or ``linear``.
        layer_freq: per layer the factor inside ``sin`` (SIREN ``w0``), 1 elsewhere.
        node_layer: ``[V]`` layer index of each node.
        node_static: ``[V, L + in_dim + out_dim]`` layer one-hot + input/output index one-hot.
        readout_mask: ``[V]`` True on hidden and output nodes (the nodes pooled by a readout).
        bias_names: names of the ``nb`` bias channels.
        bias_param: ``[V, nb]`` index into the flat vector of each bias, ``P`` where none.
        bias_const: ``[V, nb]`` constant added to the gathered bias (RFFNet ``cos`` phase).
        edge_src, edge_dst: ``[E]`` node indices of each edge (``src`` is read, ``dst`` written).
        edge_param: ``[E]`` index into the flat vector of each edge's weight.
        edge_scale: ``[E]`` factor applied to the gathered weight (RFFNet ``rff_std``, else 1).
        edge_group: ``[E]`` index into ``group_names`` (the weight tensor the edge comes from).
        group_names: names of the weight tensors, e.g. ``("l0.weight", "l1.weight", "out.weight")``.
    """

    spec: ArchSpec
    layer_names: tuple[str, ...]
    layer_sizes: tuple[int, ...]
    layer_offsets: tuple[int, ...]
    layer_activation: tuple[str, ...]
    layer_freq: tuple[float, ...]
    node_layer: torch.Tensor
    node_static: torch.Tensor
    readout_mask: torch.Tensor
    bias_names: tuple[str, ...]
    bias_param: torch.Tensor
    bias_const: torch.Tensor
    edge_src: torch.Tensor
    edge_dst: torch.Tensor
    edge_param: torch.Tensor
    edge_scale: torch.Tensor
    edge_group: torch.Tensor
    group_names: tuple[str, ...]

    @property
    def num_nodes(self) -> int:
        return int(self.node_layer.shape[0])

    @property
    def num_edges(self) -> int:
        return int(self.edge_src.shape[0])

    @property
    def num_layers(self) -> int:
        return len(self.layer_sizes)

    @property
    def node_dim(self) -> int:
        """Node feature width ``nb + L + in_dim + out_dim``."""
        return len(self.bias_names) + int(self.node_static.shape[1])

    @property
    def edge_dim(self) -> int:
        return 1

    def layer_slice(self, layer: int) -> slice:
        return slice(self.layer_offsets[layer], self.layer_offsets[layer] + self.layer_sizes[layer])

    def to(self, device: torch.device | str) -> "GraphLayout":
        """A copy with every tensor on ``device`` (the cached layout itself lives on the CPU)."""
        moved = {f.name: getattr(self, f.name).to(device) for f in dataclasses.fields(self)
                 if isinstance(getattr(self, f.name), torch.Tensor)}
        return dataclasses.replace(self, **moved)


@dataclass(frozen=True, eq=False)
class NFGraph:
    """A batch of ``N`` NF graphs: node features ``[N, V, dn]``, edge features ``[N, E, de]``.

    ``layout`` holds the shared structure (edge list, node layers); ``nodes[..., :nb]`` are the
    bias channels and ``edges[..., 0]`` the weight values.
    """

    nodes: torch.Tensor
    edges: torch.Tensor
    layout: GraphLayout


def _check_family(spec: ArchSpec) -> None:
    if spec.family not in SUPPORTED_FAMILIES:
        raise BadInputError(None, f"weightspace.graph: unsupported NF family {spec.family!r}")


@lru_cache(maxsize=32)
def graph_layout(spec: ArchSpec) -> GraphLayout:
    """The (cached, CPU) graph structure of architecture ``spec``; see the module docstring."""
    _check_family(spec)
    h, fam = spec.hidden, spec.family
    t = {ts.name: ts for ts in spec.tensors()}
    # ---- node layers
    names: list[str] = ["input"]
    sizes: list[int] = [spec.in_dim]
    acts: list[str] = ["none"]
    freqs: list[float] = [1.0]
    if fam == "rffnet":
        names.append("fourier")
        sizes.append(2 * spec.rff_features)
        acts.append("sin")
        freqs.append(1.0)
    for i in range(spec.depth):
        names.append(f"hidden{i + 1}")
        sizes.append(h)
        if fam == "siren":
            acts.append("sin")
            freqs.append(float(spec.w0_first if i == 0 else spec.w0))
        elif fam == "rffnet":
            acts.append("relu")
            freqs.append(1.0)
        else:
            acts.append("mfn")
            freqs.append(1.0)
    names.append("output")
    sizes.append(spec.out_dim)
    acts.append("linear")
    freqs.append(1.0)
    offsets = [0]
    for s in sizes[:-1]:
        offsets.append(offsets[-1] + s)
    num_layers, v, p = len(sizes), sum(sizes), spec.num_params
    node_layer = torch.cat([torch.full((s,), i, dtype=torch.long) for i, s in enumerate(sizes)])

    # ---- static node features: layer one-hot | input index one-hot | output index one-hot
    static = torch.zeros(v, num_layers + spec.in_dim + spec.out_dim)
    static[torch.arange(v), node_layer] = 1.0
    static[torch.arange(spec.in_dim), num_layers + torch.arange(spec.in_dim)] = 1.0
    out0 = offsets[-1]
    static[out0 + torch.arange(spec.out_dim), num_layers + spec.in_dim + torch.arange(spec.out_dim)] = 1.0
    readout = node_layer > 0

    # ---- biases
    nb = 2 if fam == "mfn" else 1
    bias_param = torch.full((v, nb), p, dtype=torch.long)
    bias_const = torch.zeros(v, nb, dtype=torch.float64)

    def set_bias(layer: int, tensor: str, channel: int = 0) -> None:
        ts = t[tensor]
        sl = slice(offsets[layer], offsets[layer] + sizes[layer])
        bias_param[sl, channel] = torch.arange(ts.offset, ts.stop)

    # ---- edges: (src layer, dst layer, tensor, scale) per weight tensor, in vector order
    blocks: list[tuple[int, int, str, float]] = []
    if fam == "siren":
        for i in range(spec.depth):
            blocks.append((i, i + 1, f"l{i}.weight", 1.0))
            set_bias(i + 1, f"l{i}.bias")
        blocks.append((spec.depth, spec.depth + 1, "out.weight", 1.0))
        set_bias(spec.depth + 1, "out.bias")
    elif fam == "rffnet":
        f = spec.rff_features
        bias_const[offsets[1] + f:offsets[1] + 2 * f, 0] = math.pi / 2  # cos z = sin(z + pi/2)
        blocks.append((0, 1, "fourier.weight", float(spec.rff_std)))
        for i in range(spec.depth):
            blocks.append((i + 1, i + 2, f"l{i}.weight", 1.0))
            set_bias(i + 2, f"l{i}.bias")
        blocks.append((spec.depth + 1, spec.depth + 2, "out.weight", 1.0))
        set_bias(spec.depth + 2, "out.bias")
    else:  # mfn: filter i feeds hidden layer i+1; l{i} maps hidden i+1 -> i+2
        for i in range(spec.depth):
            blocks.append((0, i + 1, f"filter{i}.weight", 1.0))
            set_bias(i + 1, f"filter{i}.bias", channel=1)
        for i in range(spec.depth - 1):
            blocks.append((i + 1, i + 2, f"l{i}.weight", 1.0))
            set_bias(i + 2, f"l{i}.bias", channel=0)
        blocks.append((spec.depth, spec.depth + 1, "out.weight", 1.0))
        set_bias(spec.depth + 1, "out.bias", channel=0)
    blocks.sort(key=lambda b: t[b[2]].offset)

    src, dst, par, scale, group = [], [], [], [], []
    group_names = tuple(b[2] for b in blocks)
    for g, (ls, ld, tensor, sc) in enumerate(blocks):
        ts = t[tensor]
        n_out, n_in = ts.shape
        o = torch.arange(n_out).repeat_interleave(n_in)      # destination-major, like [out, in]
        i = torch.arange(n_in).repeat(n_out)
        param = torch.arange(ts.offset, ts.stop)
        dst_local = o
        if tensor == "fourier.weight":                       # each B entry feeds a sin and a cos node
            o = torch.cat([o, o + spec.rff_features])
            i = torch.cat([i, i])
            param = torch.cat([param, param])
            dst_local = o
        src.append(offsets[ls] + i)
        dst.append(offsets[ld] + dst_local)
        par.append(param)
        scale.append(torch.full((param.numel(),), sc, dtype=torch.float64))
        group.append(torch.full((param.numel(),), g, dtype=torch.long))
    return GraphLayout(
        spec=spec, layer_names=tuple(names), layer_sizes=tuple(sizes), layer_offsets=tuple(offsets),
        layer_activation=tuple(acts), layer_freq=tuple(freqs), node_layer=node_layer,
        node_static=static, readout_mask=readout,
        bias_names=("bias", "phase") if fam == "mfn" else ("bias",),
        bias_param=bias_param, bias_const=bias_const,
        edge_src=torch.cat(src), edge_dst=torch.cat(dst), edge_param=torch.cat(par),
        edge_scale=torch.cat(scale), edge_group=torch.cat(group), group_names=group_names)


def _check_theta(spec: ArchSpec, theta: torch.Tensor) -> torch.Tensor:
    if not isinstance(theta, torch.Tensor) or theta.dim() != 2 or theta.shape[1] != spec.num_params:
        shape = tuple(theta.shape) if isinstance(theta, torch.Tensor) else type(theta).__name__
        raise BadInputError(None, f"weightspace.graph: expected NF vectors [N, {spec.num_params}] for "
                                  f"{spec.family} {spec.depth}x{spec.hidden}, got {shape}")
    return theta


def _padded(theta: torch.Tensor) -> torch.Tensor:
    """``theta`` with one trailing zero column (index ``P`` = "no parameter")."""
    return torch.nn.functional.pad(theta, (0, 1))


def gather_edges(layout: GraphLayout, theta: torch.Tensor) -> torch.Tensor:
    """Edge weight values ``[N, E]`` of ``theta [N, P]`` (one gather; indices on theta's device)."""
    _check_theta(layout.spec, theta)
    idx = layout.edge_param.to(theta.device)
    return theta.index_select(1, idx) * layout.edge_scale.to(device=theta.device, dtype=theta.dtype)


def gather_biases(layout: GraphLayout, theta: torch.Tensor) -> torch.Tensor:
    """Bias channels ``[N, V, nb]`` of ``theta [N, P]`` (0 where a node has no such bias)."""
    _check_theta(layout.spec, theta)
    idx = layout.bias_param.to(theta.device)
    vals = _padded(theta).index_select(1, idx.reshape(-1)).view(theta.shape[0], *idx.shape)
    return vals + layout.bias_const.to(device=theta.device, dtype=theta.dtype)


def to_graph(spec: ArchSpec, theta: torch.Tensor) -> NFGraph:
    """Computational graphs of ``N`` NFs ``theta [N, P]`` (a ``[P]`` vector is treated as ``N = 1``).

    Returns :class:`NFGraph` with ``nodes [N, V, nb + L + in_dim + out_dim]`` and
    ``edges [N, E, 1]`` on ``theta``'s device and dtype; see the module docstring for the layout.
    """
    if isinstance(theta, torch.Tensor) and theta.dim() == 1:
        theta = theta.unsqueeze(0)
    layout = graph_layout(spec)
    _check_theta(spec, theta)
    n = theta.shape[0]
    static = layout.node_static.to(device=theta.device, dtype=theta.dtype)
    nodes = torch.cat([gather_biases(layout, theta), static.expand(n, *static.shape)], dim=-1)
    return NFGraph(nodes=nodes, edges=gather_edges(layout, theta).unsqueeze(-1), layout=layout)


def to_dense(graph: NFGraph) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense adjacency ``[N, V, V, de]`` (entry ``[n, dst, src]``, like ``W[out, in]``) and its
    boolean edge mask ``[V, V]``. RFFNet has no duplicate ``(src, dst)`` pairs, so this is exact."""
    lay = graph.layout
    n, v = graph.nodes.shape[0], lay.num_nodes
    dense = graph.edges.new_zeros(n, v * v, graph.edges.shape[-1])
    flat = (lay.edge_dst * v + lay.edge_src).to(graph.edges.device)
    dense[:, flat] = graph.edges
    mask = torch.zeros(v * v, dtype=torch.bool, device=graph.edges.device)
    mask[flat] = True
    return dense.view(n, v, v, -1), mask.view(v, v)


def graph_forward(graph: NFGraph, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Evaluate the NFs by message passing on their graphs (linear messages ``w_ji * a_j`` summed
    into each destination, then the layer's activation), layer by layer.

    This is the reference that the graph is complete: it must equal
    :func:`nf2vec_core.nf.functional.forward` on the same vectors.

    Args:
        graph: ``N`` graphs from :func:`to_graph`.
        x: ``[M, in_dim]`` points shared by all NFs, or ``[N, M, in_dim]``.

    Returns:
        ``(outputs [N, M, out_dim], pre)`` with one entry per non-input layer, ``[N, M, V_l]``: the
        pre-activation ``sum_j w_ji a_j + b_i`` (MFN hidden layers: the filter argument
        ``F x + phi``; the linear part is folded into the activation).
    """
    lay = graph.layout
    n = graph.nodes.shape[0]
    if x.dim() == 2:
        x = x.unsqueeze(0).expand(n, *x.shape)
    if x.dim() != 3 or x.shape[0] != n or x.shape[-1] != lay.spec.in_dim:
        raise BadInputError(None, f"graph_forward: expected points [M, {lay.spec.in_dim}] or "
                                  f"[{n}, M, {lay.spec.in_dim}], got {tuple(x.shape)}")
    dev = graph.edges.device
    w = graph.edges[..., 0]                                   # [N, E]
    bias = graph.nodes[..., :len(lay.bias_names)]             # [N, V, nb]
    src, dst = lay.edge_src.to(dev), lay.edge_dst.to(dev)
    node_layer = lay.node_layer.to(dev)
    src_layer, dst_layer = node_layer[src], node_layer[dst]
    acts = x.new_zeros(n, x.shape[1], lay.num_nodes)          # activations a_j of every node
    acts[..., lay.layer_slice(0)] = x

    def aggregate(edge_mask: torch.Tensor, layer: int) -> torch.Tensor:
        e = edge_mask.nonzero().flatten()
        msg = acts.index_select(2, src[e]) * w[:, None, e]    # [N, M, E_l] linear messages
        out = acts.new_zeros(acts.shape).index_add_(2, dst[e], msg)
        return out[..., lay.layer_slice(layer)]

    pres: list[torch.Tensor] = []
    for layer in range(1, lay.num_layers):
        sl = lay.layer_slice(layer)
        kind = lay.layer_activation[layer]
        into = dst_layer == layer
        if kind == "mfn":
            filt = aggregate(into & (src_layer == 0), layer) + bias[:, None, sl, 1]
            a = torch.sin(filt)
            if layer > 1:
                a = a * (aggregate(into & (src_layer == layer - 1), layer) + bias[:, None, sl, 0])
            pres.append(filt)
        else:
            pre = aggregate(into, layer) + bias[:, None, sl, 0]
            pres.append(pre)
            if kind == "sin":
                a = torch.sin(lay.layer_freq[layer] * pre)
            elif kind == "relu":
                a = torch.relu(pre)
            else:
                a = pre
        acts[..., sl] = a
    return acts[..., lay.layer_slice(lay.num_layers - 1)], pres


__all__ = ["GraphLayout", "NFGraph", "graph_layout", "to_graph", "to_dense", "gather_edges",
           "gather_biases", "graph_forward", "SUPPORTED_FAMILIES"]

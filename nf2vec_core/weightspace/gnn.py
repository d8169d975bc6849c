"""The graph baseline of paper 004 (supplementary §3): a message-passing GNN on NF computational
graphs, invariant to permutations of hidden neurons.

Paper 004: "a message-passing GNN where the biases of each NeF layer correspond to node features,
while the weights correspond to edge features ... 4 steps of message passing, with a hidden
dimension of 64. The MLP used for the update function on the nodes has 3 layers and 256 hidden
dimension, while the one used for the edges has 2 layers and 256 hidden dimension." Those are the
:class:`GNNConfig` defaults.

Model (graphs from :mod:`.graph`; ``h_i`` node states, ``e_ij`` edge states, width ``hidden``):

1. Input features, optionally standardised (``normalize``) with train-set statistics *per weight
   tensor* (edges) and *per layer and bias channel* (nodes), so the tiny hidden-layer weights of a
   SIREN are on the same scale as the first layer's. Statistics are shared by all neurons of a
   layer, which keeps the model permutation invariant. Then ``h = Linear(node feats)``,
   ``e = Linear(edge feats)``.
2. ``steps`` rounds of message passing; each round
   ``e_ij <- LN(e_ij + phi_e([h_i, h_j, e_ij]))`` (``edge_mlp_layers`` layers, width
   ``edge_mlp_hidden``), then
   ``h_i <- LN(h_i + phi_n([h_i, agg_{j->i} e_ji, agg_{i->k} e_ik]))`` (``node_mlp_layers``
   layers, width ``node_mlp_hidden``): information flows forward and backward through the NF.
   ``agg`` (``aggregation``) is the sum over the node's edges divided by ``sqrt(degree)``
   (default), the plain sum, or the mean. On the digit NFs of the tests (SIREN 2x16, 120
   training NFs, 3 splits) sum and ``sqrt_degree`` gave 0.93 mean test accuracy, the mean 0.87:
   the mean hides how much a neuron is used. ``sqrt_degree`` keeps the sum's signal with inputs
   that grow only as ``sqrt(width)``.
   The first layer of ``phi_e`` is split into per-node projections of ``h_i`` and ``h_j``
   (computed on ``V`` nodes, then gathered to the ``E`` edges) plus a projection of ``e_ij``:
   the same function as a Linear on the concatenation, at a third of the per-edge cost.
3. Invariant readout: mean and max of ``h`` over the hidden nodes (the permutable ones), plus the
   states of the input and output nodes, which have fixed positions (coordinate / channel) and
   are concatenated in order: ``(2 + in_dim + out_dim) * hidden`` features (pooling an RGB
   NF's three output nodes together would mix the channels); then a 2-layer MLP head
   (``readout_hidden``) to the class logits.

Permuting the hidden neurons of an NF permutes its nodes and edges consistently; the layer
one-hot is the only positional feature of a hidden node and every aggregation is a sum, mean or
max, so the logits are unchanged (tested).

Edge list vs dense adjacency (``graph.py``), measured on the shared 2-core CPU of this project
(``OMP_NUM_THREADS=1``, best of 2) for one message-passing step (forward + backward, paper sizes)
on a batch of 32 SIREN 3x32 image NFs (``V = 99``, ``E = 2,144``): edge list 0.75 s; the dense
formulation (edge MLP on all ``V x V`` pairs, masked sums) 4.1-4.5 s, 5-6x slower (4.6x more
"edges", plus the masking). The whole paper-size GNN takes about 4 s per forward+backward of 32
such NFs on one core: it is compute bound (the per-edge MLPs are ~13 GFLOP per step), so use a
GPU or smaller ``edge_mlp_hidden``/``node_mlp_hidden`` for CPU runs. The aggregation is one
flat ``index_add_`` over ``[B*V, H]`` rows (1.6 ms for the batch above, vs 3.3 ms along dim 1 and
14 ms as an incidence-matrix matmul).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from torch import nn

from ..errors import BadInputError, ConfigError
from ..nf.layout import ArchSpec
from .graph import GraphLayout, gather_biases, gather_edges, graph_layout

AGGREGATIONS: tuple[str, ...] = ("sqrt_degree", "sum", "mean")


@dataclass(frozen=True)
class GNNConfig:
    """Sizes of the graph classifier (the ``weightspace.gnn`` params section); defaults = paper 004.

    ``hidden``: width of node and edge states; ``steps``: message-passing rounds;
    ``node_mlp_*`` / ``edge_mlp_*``: depth (Linear layers) and width of the update MLPs;
    ``readout_hidden``: width of the 2-layer head; ``dropout``: in the head only;
    ``normalize``: standardise raw features with train statistics; ``aggregation``: see the
    module docstring.
    """

    hidden: int = 64
    steps: int = 4
    node_mlp_layers: int = 3
    node_mlp_hidden: int = 256
    edge_mlp_layers: int = 2
    edge_mlp_hidden: int = 256
    readout_hidden: int = 256
    dropout: float = 0.0
    normalize: bool = True
    aggregation: Literal["sqrt_degree", "sum", "mean"] = "sqrt_degree"

    def __post_init__(self) -> None:
        for name in ("hidden", "node_mlp_hidden", "edge_mlp_hidden", "readout_hidden",
                     "node_mlp_layers", "edge_mlp_layers"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"weightspace.gnn.{name}: must be >= 1, got {getattr(self, name)}")
        if int(self.steps) < 0:
            raise ConfigError(f"weightspace.gnn.steps: must be >= 0, got {self.steps}")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ConfigError(f"weightspace.gnn.dropout: must be in [0, 1), got {self.dropout}")
        if self.aggregation not in AGGREGATIONS:
            raise ConfigError(f"weightspace.gnn.aggregation: {self.aggregation!r} is not one of {list(AGGREGATIONS)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def make_mlp(in_dim: int, hidden: int, out_dim: int, layers: int, dropout: float = 0.0) -> nn.Sequential:
    """``layers`` Linear layers ``in -> hidden -> ... -> out`` with ReLU (and dropout) between."""
    if layers < 1:
        raise ConfigError(f"make_mlp: need at least one layer, got {layers}")
    dims = [in_dim] + [hidden] * (layers - 1) + [out_dim]
    mods: list[nn.Module] = []
    for i in range(layers):
        mods.append(nn.Linear(dims[i], dims[i + 1]))
        if i < layers - 1:
            mods.append(nn.ReLU(inplace=True))
            if dropout > 0:
                mods.append(nn.Dropout(dropout))
    return nn.Sequential(*mods)


def scatter_sum(values: torch.Tensor, index: torch.Tensor, num_nodes: int,
                weight: torch.Tensor) -> torch.Tensor:
    """``weight[v] * sum`` of ``values [B, E, H]`` over the edges with ``index == v`` -> ``[B, V, H]``.

    ``weight [V]``: 1 (sum), ``1 / degree`` (mean) or ``1 / sqrt(degree)``, degrees clamped at 1
    (nodes without edges get zeros).
    """
    b, e, h = values.shape
    # one flat index_add over the rows of [B*V, H] (about 2x faster on CPU than along dim 1)
    flat = (torch.arange(b, device=index.device).mul_(num_nodes).unsqueeze(1) + index).reshape(-1)
    out = values.new_zeros(b * num_nodes, h).index_add_(0, flat, values.reshape(b * e, h))
    return out.view(b, num_nodes, h) * weight.to(values.dtype).view(1, -1, 1)


class MessagePassingStep(nn.Module):
    """One round: edge update from ``(h_src, h_dst, e)``, then node update from the aggregated
    incoming and outgoing edge states (``w_in``/``w_out``: per-node aggregation weights)."""

    def __init__(self, hidden: int, edge_hidden: int, edge_layers: int, node_hidden: int,
                 node_layers: int) -> None:
        super().__init__()
        first = edge_hidden if edge_layers > 1 else hidden
        self.edge_src = nn.Linear(hidden, first, bias=False)
        self.edge_dst = nn.Linear(hidden, first, bias=False)
        self.edge_self = nn.Linear(hidden, first)
        self.edge_rest = (nn.Sequential(nn.ReLU(inplace=True), make_mlp(edge_hidden, edge_hidden, hidden,
                                                                         edge_layers - 1))
                          if edge_layers > 1 else nn.Identity())
        self.edge_norm = nn.LayerNorm(hidden)
        self.node_mlp = make_mlp(3 * hidden, node_hidden, hidden, node_layers)
        self.node_norm = nn.LayerNorm(hidden)

    def forward(self, h: torch.Tensor, e: torch.Tensor, src: torch.Tensor, dst: torch.Tensor,
                w_in: torch.Tensor, w_out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pre = (self.edge_src(h).index_select(1, src) + self.edge_dst(h).index_select(1, dst)
               + self.edge_self(e))
        e = self.edge_norm(e + self.edge_rest(pre))
        v = h.shape[1]
        m_in = scatter_sum(e, dst, v, w_in)
        m_out = scatter_sum(e, src, v, w_out)
        h = self.node_norm(h + self.node_mlp(torch.cat([h, m_in, m_out], dim=-1)))
        return h, e


class GNNClassifier(nn.Module):
    """Permutation-invariant NF classifier: flat vectors ``[B, P]`` -> logits ``[B, C]``.

    Args:
        spec: architecture of the NFs (fixes the graph).
        num_classes: ``C >= 2``.
        cfg: sizes, see :class:`GNNConfig`.
    """

    def __init__(self, spec: ArchSpec, num_classes: int, cfg: GNNConfig = GNNConfig()) -> None:
        super().__init__()
        if int(num_classes) < 2:
            raise ConfigError(f"weightspace: need at least 2 classes, got {num_classes}")
        self.spec, self.cfg, self.num_classes = spec, cfg, int(num_classes)
        lay = graph_layout(spec)
        self.layout: GraphLayout = lay
        self._layouts: dict[str, GraphLayout] = {}
        hd = cfg.hidden
        self.node_in = nn.Linear(lay.node_dim, hd)
        self.edge_in = nn.Linear(lay.edge_dim, hd)
        self.steps = nn.ModuleList(MessagePassingStep(hd, cfg.edge_mlp_hidden, cfg.edge_mlp_layers,
                                                      cfg.node_mlp_hidden, cfg.node_mlp_layers)
                                   for _ in range(cfg.steps))
        fixed = lay.node_layer.eq(0) | lay.node_layer.eq(lay.num_layers - 1)
        self.register_buffer("hidden_index", (~fixed).nonzero().flatten())
        self.register_buffer("fixed_index", fixed.nonzero().flatten())
        self.embed_dim = (2 + int(fixed.sum())) * hd
        self.head = make_mlp(self.embed_dim, cfg.readout_hidden, self.num_classes, 2, cfg.dropout)
        deg_in = torch.bincount(lay.edge_dst, minlength=lay.num_nodes).clamp_min(1).float()
        deg_out = torch.bincount(lay.edge_src, minlength=lay.num_nodes).clamp_min(1).float()
        power = {"sum": 0.0, "mean": 1.0, "sqrt_degree": 0.5}[cfg.aggregation]
        self.register_buffer("agg_in", deg_in.pow(-power))
        self.register_buffer("agg_out", deg_out.pow(-power))
        nb = len(lay.bias_names)
        # standardisation of raw features (identity until fit_input_stats is called)
        self.register_buffer("edge_shift", torch.zeros(lay.num_edges))
        self.register_buffer("edge_inv_scale", torch.ones(lay.num_edges))
        self.register_buffer("bias_shift", torch.zeros(lay.num_nodes, nb))
        self.register_buffer("bias_inv_scale", torch.ones(lay.num_nodes, nb))

    def _device_layout(self, device: torch.device) -> GraphLayout:
        key = str(device)
        if key not in self._layouts:
            self._layouts[key] = self.layout.to(device)
        return self._layouts[key]

    def _check(self, theta: torch.Tensor) -> None:
        if theta.dim() != 2 or theta.shape[1] != self.spec.num_params:
            raise BadInputError(None, f"GNNClassifier: expected NF vectors [B, {self.spec.num_params}], "
                                      f"got {tuple(theta.shape)}")

    @torch.no_grad()
    def fit_input_stats(self, theta: torch.Tensor) -> None:
        """Standardisation statistics from training vectors ``theta [N, P]`` (no-op unless
        ``cfg.normalize``): mean/std per weight tensor for edges, per (layer, bias channel) for
        nodes; a constant group (std below 1e-8) is only centred."""
        if not self.cfg.normalize:
            return
        self._check(theta)
        dev = self.edge_shift.device
        theta = theta.to(dev, torch.float64)
        lay = self._device_layout(dev)
        ew = gather_edges(lay, theta)                                   # [N, E]
        groups = lay.edge_group
        ng = len(lay.group_names)
        cnt = torch.bincount(groups, minlength=ng).double() * theta.shape[0]
        s1 = torch.zeros(ng, dtype=torch.float64, device=dev).index_add_(0, groups, ew.sum(0))
        s2 = torch.zeros(ng, dtype=torch.float64, device=dev).index_add_(0, groups, ew.pow(2).sum(0))
        mean = s1 / cnt
        std = (s2 / cnt - mean.pow(2)).clamp_min(0).sqrt()
        self.edge_shift.copy_(mean[groups])
        self.edge_inv_scale.copy_(torch.where(std > 1e-8, 1.0 / std, torch.ones_like(std))[groups])
        bias = gather_biases(lay, theta)                                # [N, V, nb]
        layers = lay.node_layer
        nl = lay.num_layers
        nb = bias.shape[-1]
        cnt = torch.bincount(layers, minlength=nl).double().unsqueeze(1) * theta.shape[0]
        s1 = torch.zeros(nl, nb, dtype=torch.float64, device=dev).index_add_(0, layers, bias.sum(0))
        s2 = torch.zeros(nl, nb, dtype=torch.float64, device=dev).index_add_(0, layers, bias.pow(2).sum(0))
        mean = s1 / cnt
        std = (s2 / cnt - mean.pow(2)).clamp_min(0).sqrt()
        self.bias_shift.copy_(mean[layers])
        self.bias_inv_scale.copy_(torch.where(std > 1e-8, 1.0 / std, torch.ones_like(std))[layers])

    def embed(self, theta: torch.Tensor) -> torch.Tensor:
        """Invariant graph embedding ``[B, embed_dim]``: mean and max of the hidden-node states,
        then the states of the input and output nodes (fixed positions), flattened."""
        self._check(theta)
        lay = self._device_layout(theta.device)
        theta = theta.to(self.edge_shift.dtype)
        ew = (gather_edges(lay, theta) - self.edge_shift) * self.edge_inv_scale
        bias = (gather_biases(lay, theta) - self.bias_shift) * self.bias_inv_scale
        static = lay.node_static.to(theta.dtype).expand(theta.shape[0], *lay.node_static.shape)
        h = self.node_in(torch.cat([bias, static], dim=-1))
        e = self.edge_in(ew.unsqueeze(-1))
        for step in self.steps:
            h, e = step(h, e, lay.edge_src, lay.edge_dst, self.agg_in, self.agg_out)
        pooled = h.index_select(1, self.hidden_index)
        fixed = h.index_select(1, self.fixed_index).flatten(1)
        return torch.cat([pooled.mean(1), pooled.amax(1), fixed], dim=-1)

    def forward(self, theta: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(theta))


__all__ = ["GNNConfig", "GNNClassifier", "MessagePassingStep", "make_mlp", "scatter_sum", "AGGREGATIONS"]

"""The graph meta-network encoder (Ballerini et al. 2025, "Embed Any NeRF", §3 and appendix B;
after Lim et al. 2024, "Graph Metanetworks for Processing Diverse Neural Architectures"): parameter
graphs of NFs of any architecture (:mod:`nf2vec_core.encoders.param_graph`) -> one embedding each.

Model (``h`` node states, ``e`` edge states, width ``hidden``):

1. Pre-encoder: ``h = MLP(E_type[type] + E_layer[layer] + E_order[order + 1] + Linear(attr))``,
   ``e = MLP(E_type'[type] + E_layer'[layer] + Linear([value, pos]))`` (layer indices past
   ``max_layers - 1`` and orders past ``max_order - 1`` share the last embedding; order ``-1``,
   the permutable nodes, has its own).
2. ``layers`` pre-norm residual blocks, each an edge update then a node update:
   ``e <- e + MLP_e(W_s LN(h)_src + W_d LN(h)_dst + W_e LN(e))`` and
   ``h <- h + MLP_v([LN(h), agg_{j->i} LN'(e_ji)])``; with ``directed`` (the paper's choice)
   messages follow the edges only (input -> output), otherwise the node update also reads
   ``agg_{i->k} LN'(e_ik)``. ``agg`` is the mean over the node's edges (``aggregation: mean``;
   a tri-plane channel node has ``3 R^2`` incoming edges and a hidden neuron ~64, so a plain sum
   would put them on different scales) or the sum. The last block only updates the edges (only
   edges are read out).
3. Edge readout: ``LN(e)``, a map to ``embed_dim`` (one Linear with ``readout_layers: 1``, the
   paper's "single linear layer"; more layers add ReLU MLP layers of width ``embed_dim``), averaged
   over each graph's edges. With one Linear the average is taken first (the same value: the mean
   of an affine map is the map of the mean) so the per-edge cost stays at width ``hidden``.

Permutation symmetries of the NFs (hidden neurons, grid channels, Fourier features) permute nodes
and edges of a graph without changing any feature, and every step above is a per-node or per-edge
map or a mean/sum over edges, so the embedding is invariant to them (tested).

Batching: a :class:`~nf2vec_core.encoders.param_graph.GraphBatch` is one disjoint graph (graphs of any
sizes concatenated, edge endpoints offset); gathers are ``index_select`` and aggregations
``index_add_`` over the concatenated rows, in plain PyTorch. A graph library (PyTorch Geometric) is
not used: the model needs only gather and scatter-add, which PyTorch has on every device, and the
library would add a dependency whose fast scatter kernels are separate builds per torch and CUDA
version, for no gain here. On CUDA ``index_add_`` adds in no fixed order (atomics) unless
``torch.use_deterministic_algorithms(True)`` is set.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import torch
from torch import nn

from ..errors import BadInputError, ConfigError
from .param_graph import EDGE_POS_DIM, EDGE_TYPES, NODE_ATTR_DIM, NODE_TYPES, GraphBatch


@dataclass(frozen=True)
class GMNConfig:
    """Sizes of the graph meta-network; defaults = Ballerini et al. 2025 appendix B (hidden 128,
    4 layers, embeddings of 1024). See the module docstring for each field."""

    hidden: int = 128
    layers: int = 4
    embed_dim: int = 1024
    readout_layers: int = 1
    directed: bool = True
    aggregation: Literal["mean", "sum"] = "mean"
    max_layers: int = 16
    max_order: int = 16

    def __post_init__(self) -> None:
        for name in ("hidden", "layers", "embed_dim", "readout_layers", "max_layers", "max_order"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"gmn.{name}: must be >= 1, got {getattr(self, name)}")
        if self.aggregation not in ("mean", "sum"):
            raise ConfigError(f"gmn.aggregation: {self.aggregation!r} is not one of ['mean', 'sum']")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mlp(d_in: int, hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Linear(hidden, d_out))


def aggregate(values: torch.Tensor, index: torch.Tensor, num_nodes: int, weight: torch.Tensor | None) -> torch.Tensor:
    """``weight[v] * sum`` of the rows of ``values [E, H]`` with ``index == v`` -> ``[V, H]``."""
    out = values.new_zeros(num_nodes, values.shape[1]).index_add_(0, index, values)
    return out if weight is None else out * weight.unsqueeze(1)


class GMNBlock(nn.Module):
    """One pre-norm residual block: edge update, then (``update_nodes``) node update."""

    def __init__(self, hidden: int, directed: bool, update_nodes: bool = True) -> None:
        super().__init__()
        self.directed, self.update_nodes = directed, update_nodes
        self.node_norm = nn.LayerNorm(hidden)
        self.edge_norm = nn.LayerNorm(hidden)
        # the first layer of MLP_e on [h_src, h_dst, e], split so that the node terms are computed
        # per node and gathered to the edges
        self.edge_src = nn.Linear(hidden, hidden, bias=False)
        self.edge_dst = nn.Linear(hidden, hidden, bias=False)
        self.edge_self = nn.Linear(hidden, hidden)
        self.edge_out = nn.Sequential(nn.ReLU(), nn.Linear(hidden, hidden))
        if update_nodes:
            self.message_norm = nn.LayerNorm(hidden)
            self.node_mlp = _mlp((2 if directed else 3) * hidden, hidden, hidden)

    def forward(self, h: torch.Tensor, e: torch.Tensor, src: torch.Tensor, dst: torch.Tensor,
                w_in: torch.Tensor | None, w_out: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        hn = self.node_norm(h)
        pre = (self.edge_src(hn).index_select(0, src) + self.edge_dst(hn).index_select(0, dst)
               + self.edge_self(self.edge_norm(e)))
        e = e + self.edge_out(pre)
        if not self.update_nodes:
            return h, e
        m = self.message_norm(e)
        parts = [hn, aggregate(m, dst, h.shape[0], w_in)]
        if not self.directed:
            parts.append(aggregate(m, src, h.shape[0], w_out))
        return h + self.node_mlp(torch.cat(parts, dim=-1)), e


class GMNEncoder(nn.Module):
    """Parameter graphs -> embeddings ``[num_graphs, embed_dim]`` (module docstring)."""

    def __init__(self, cfg: GMNConfig = GMNConfig()) -> None:
        super().__init__()
        self.cfg = cfg
        hd = cfg.hidden
        self.node_type = nn.Embedding(len(NODE_TYPES), hd)
        self.node_layer = nn.Embedding(cfg.max_layers, hd)
        self.node_order = nn.Embedding(cfg.max_order + 1, hd)
        self.node_attr = nn.Linear(NODE_ATTR_DIM, hd)
        self.node_pre = _mlp(hd, hd, hd)
        self.edge_type = nn.Embedding(len(EDGE_TYPES), hd)
        self.edge_layer = nn.Embedding(cfg.max_layers, hd)
        self.edge_feat = nn.Linear(1 + EDGE_POS_DIM, hd)
        self.edge_pre = _mlp(hd, hd, hd)
        self.blocks = nn.ModuleList(GMNBlock(hd, cfg.directed, update_nodes=i < cfg.layers - 1)
                                    for i in range(cfg.layers))
        self.readout_norm = nn.LayerNorm(hd)
        mods: list[nn.Module] = [nn.Linear(hd, cfg.embed_dim)]
        for _ in range(cfg.readout_layers - 1):
            mods += [nn.ReLU(), nn.Linear(cfg.embed_dim, cfg.embed_dim)]
        self.readout = nn.Sequential(*mods)

    @property
    def embed_dim(self) -> int:
        return self.cfg.embed_dim

    def _inputs(self, g: GraphBatch, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        top_layer, top_order = self.cfg.max_layers - 1, self.cfg.max_order
        h = (self.node_type(g.node_type) + self.node_layer(g.node_layer.clamp(0, top_layer))
             + self.node_order((g.node_order + 1).clamp(0, top_order)) + self.node_attr(g.node_attr.to(dtype)))
        feats = torch.cat([g.edge_value.to(dtype).unsqueeze(1), g.edge_pos.to(dtype)], dim=1)
        e = self.edge_type(g.edge_type) + self.edge_layer(g.edge_layer.clamp(0, top_layer)) + self.edge_feat(feats)
        return self.node_pre(h), self.edge_pre(e)

    def forward(self, g: GraphBatch) -> torch.Tensor:
        if not isinstance(g, GraphBatch) or g.num_graphs < 1:
            raise BadInputError(None, f"GMNEncoder: expected a non-empty GraphBatch, got {type(g).__name__}")
        dtype = self.edge_feat.weight.dtype
        h, e = self._inputs(g, dtype)
        v = g.num_nodes
        w_in = w_out = None
        if self.cfg.aggregation == "mean":
            w_in = torch.bincount(g.edge_dst, minlength=v).clamp_min(1).to(dtype).reciprocal()
            w_out = torch.bincount(g.edge_src, minlength=v).clamp_min(1).to(dtype).reciprocal()
        for block in self.blocks:
            h, e = block(h, e, g.edge_src, g.edge_dst, w_in, w_out)
        e = self.readout_norm(e)
        counts = torch.bincount(g.edge_graph, minlength=g.num_graphs).clamp_min(1).to(dtype).unsqueeze(1)
        if self.cfg.readout_layers == 1:          # mean of an affine map = the map of the mean
            return self.readout(aggregate(e, g.edge_graph, g.num_graphs, None) / counts)
        return aggregate(self.readout(e), g.edge_graph, g.num_graphs, None) / counts


__all__ = ["GMNConfig", "GMNEncoder", "GMNBlock", "aggregate"]

"""NF computational graphs: structure, features, and the graph reproducing the NF forward pass."""
from __future__ import annotations

import math

import pytest
import torch

from nf2vec_core.errors import BadInputError
from nf2vec_core.nf.functional import forward, linear, unflatten
from nf2vec_core.nf.init import init_batch
from nf2vec_core.nf.layout import ArchSpec
from nf2vec_core.weightspace.graph import graph_forward, graph_layout, to_dense, to_graph

FAMILIES = {
    "siren": ArchSpec("siren", in_dim=2, out_dim=3, hidden=8, depth=3, w0=10.0, w0_first=30.0),
    "rffnet": ArchSpec("rffnet", in_dim=2, out_dim=3, hidden=8, depth=3, rff_features=6, rff_std=2.0),
    "mfn": ArchSpec("mfn", in_dim=2, out_dim=3, hidden=8, depth=3),
}


@pytest.mark.parametrize("depth", [2, 3])
def test_siren_image_graph_sizes(depth):
    spec = ArchSpec("siren", in_dim=2, out_dim=1, hidden=32, depth=depth)
    g = to_graph(spec, init_batch(spec, 5, mode="random", seed=0))
    v = 2 + 32 * depth + 1
    e = 2 * 32 + (depth - 1) * 32 * 32 + 32
    num_layers = depth + 2
    assert g.nodes.shape == (5, v, 1 + num_layers + 2 + 1)
    assert g.edges.shape == (5, e, 1)
    assert g.layout.num_nodes == v and g.layout.num_edges == e
    # every weight of the vector is exactly one edge, every bias one node feature
    assert sorted(g.layout.edge_param.tolist()) == sorted(
        i for t in spec.tensors() if t.name.endswith("weight") for i in range(t.offset, t.stop))


def test_node_and_edge_features_are_the_biases_and_weights():
    spec = FAMILIES["siren"]
    theta = init_batch(spec, 3, mode="random", seed=1)
    g = to_graph(spec, theta)
    lay, p = g.layout, unflatten(spec, theta)
    dense, mask = to_dense(g)
    for li, (name, fan_in, fan_out) in enumerate(spec.linear_layers()):
        src, dst = lay.layer_slice(li), lay.layer_slice(li + 1)
        assert torch.equal(dense[:, dst, src, 0], p[f"{name}.weight"])
        assert mask[dst, src].all()
        assert torch.equal(g.nodes[:, dst, 0], p[f"{name}.bias"])
    assert mask.sum() == lay.num_edges
    assert torch.equal(g.nodes[:, lay.layer_slice(0), 0], torch.zeros(3, 2))  # input nodes: no bias
    # layer one-hot, then input-coordinate and output-channel one-hots
    num_layers = lay.num_layers
    assert torch.equal(g.nodes[0, :, 1:1 + num_layers].argmax(-1), lay.node_layer)
    io = g.nodes[0, :, 1 + num_layers:]
    assert torch.equal(io[lay.layer_slice(0)], torch.cat([torch.eye(2), torch.zeros(2, 3)], 1))
    assert torch.equal(io[lay.layer_slice(num_layers - 1)], torch.cat([torch.zeros(3, 2), torch.eye(3)], 1))
    assert io[lay.layer_slice(1)].abs().sum() == 0


def test_batched_graph_equals_per_nf_graphs():
    spec = FAMILIES["rffnet"]
    theta = init_batch(spec, 4, mode="random", seed=2)
    g = to_graph(spec, theta)
    for i in range(4):
        gi = to_graph(spec, theta[i])
        assert torch.equal(g.nodes[i], gi.nodes[0]) and torch.equal(g.edges[i], gi.edges[0])


@pytest.mark.parametrize("family", ["siren", "rffnet", "mfn"])
def test_graph_message_passing_reproduces_the_nf_forward(family):
    spec = FAMILIES[family]
    theta = init_batch(spec, 3, mode="random", seed=3).double()
    x = torch.rand(40, 2, dtype=torch.float64) * 2 - 1
    out, pres = graph_forward(to_graph(spec, theta), x)
    assert torch.allclose(out, forward(spec, theta, x), atol=1e-12, rtol=0)
    # per-NF points too
    xs = torch.rand(3, 10, 2, dtype=torch.float64)
    assert torch.allclose(graph_forward(to_graph(spec, theta), xs)[0], forward(spec, theta, xs), atol=1e-12)
    p = unflatten(spec, theta)
    if family == "siren":  # pre-activations W h + b of every layer, as in the functional forward
        h = x
        for i in range(spec.depth):
            pre = linear(h, p[f"l{i}.weight"], p[f"l{i}.bias"])
            assert torch.allclose(pres[i], pre, atol=1e-12)
            h = torch.sin((spec.w0_first if i == 0 else spec.w0) * pre)
        assert torch.allclose(pres[-1], linear(h, p["out.weight"], p["out.bias"]), atol=1e-12)
    elif family == "rffnet":  # Fourier layer: [z, z + pi/2] with z = std * B x
        z = spec.rff_std * torch.matmul(x, p["fourier.weight"].transpose(1, 2))
        assert torch.allclose(pres[0], torch.cat([z, z + math.pi / 2], -1), atol=1e-12)
        h = torch.cat([torch.sin(z), torch.cos(z)], -1)
        assert torch.allclose(pres[1], linear(h, p["l0.weight"], p["l0.bias"]), atol=1e-12)
    else:  # MFN filters: F_i x + phi_i
        for i in range(spec.depth):
            assert torch.allclose(pres[i], linear(x, p[f"filter{i}.weight"], p[f"filter{i}.bias"]), atol=1e-12)


def test_corrupted_graph_no_longer_reproduces_the_forward():
    spec = FAMILIES["siren"]
    theta = init_batch(spec, 1, mode="random", seed=4).double()
    g = to_graph(spec, theta)
    x = torch.rand(20, 2, dtype=torch.float64)
    g.edges[0, 5, 0] += 0.5
    assert not torch.allclose(graph_forward(g, x)[0], forward(spec, theta, x), atol=1e-6)


def test_layout_is_cached_and_errors_name_the_problem():
    spec = FAMILIES["mfn"]
    assert graph_layout(spec) is graph_layout(spec)
    with pytest.raises(BadInputError, match=str(spec.num_params)):
        to_graph(spec, torch.zeros(2, spec.num_params + 1))
    with pytest.raises(BadInputError, match="points"):
        graph_forward(to_graph(spec, torch.zeros(1, spec.num_params)), torch.zeros(5, 3))

"""Parameter graphs (nf/param_graph.py, nf/graph_archs.py, nerf/param_graph.py): node and edge
counts against their formulas, edge values against the flat vectors, the tri-plane and grid
cells' positions against the NeRF's own plane sampling, batching with offsets."""
from __future__ import annotations

import math

import pytest
import torch

from nf2vec_core.errors import BadInputError
from nf2vec_core.nerf.arch import PLANE_AXES, NerfArch, _sample_planes, init_nerf_batch, unflatten
from nf2vec_core.nerf.hashgrid import corner_indices, hash_encode
from nf2vec_core.nerf.param_graph import grid_mlp_graph_arch, nerf_graph_arch
from nf2vec_core.encoders.graph_archs import multires_grid_levels, shape_graph_arch
from nf2vec_core.nf.layout import ArchSpec, linear_tensor_specs
from nf2vec_core.encoders.param_graph import (EDGE_TYPES, NODE_TYPES, concat_graphs, graph_structure,
                                        param_graphs)


def nerf_counts(a: NerfArch) -> tuple[int, int]:
    """(nodes, edges) of a NeRF's parameter graph, by formula."""
    h, d = a.hidden, a.depth
    enc = 6 * a.num_freqs + (3 if a.include_xyz else 0)
    mlp_nodes = d * h + 4 + (d + 1)                                  # hidden, outputs, a bias node a layer
    mlp_edges = (d - 1) * h * h + 4 * h + d * h + 4                 # hidden and output weights, biases
    if a.kind == "mlp":
        return 3 + enc + mlp_nodes, enc + enc * h + mlp_edges       # encoding edges, l0, the rest
    r, c = a.plane_res, a.plane_channels
    chans = c * (3 if a.plane_reduce == "concat" else 1)
    return (3 + 3 * r * r + chans + enc + mlp_nodes,
            3 * r * r * c + enc + (chans + enc) * h + mlp_edges)


NERFS = [NerfArch(), NerfArch(depth=2), NerfArch(hidden=32), NerfArch(num_freqs=4, include_xyz=True),
         NerfArch(kind="triplane"), NerfArch(kind="triplane", depth=2), NerfArch(kind="triplane", hidden=32),
         NerfArch(kind="triplane", plane_res=16), NerfArch(kind="triplane", plane_channels=8),
         NerfArch(kind="triplane", plane_reduce="concat", num_freqs=0)]


@pytest.mark.parametrize("arch", NERFS, ids=lambda a: f"{a.kind}-{a.depth}x{a.hidden}-R{a.plane_res}C{a.plane_channels}"
                         f"-L{a.num_freqs}-{a.plane_reduce}")
def test_nerf_graphs_of_every_variant_have_the_counted_nodes_and_edges(arch):
    st = graph_structure(nerf_graph_arch(arch))
    assert (st.num_nodes, st.num_edges) == nerf_counts(arch)
    params = st.edge_param[st.edge_param < arch.num_params]
    assert torch.equal(params.sort().values, torch.arange(arch.num_params))   # every parameter on one edge
    types = st.node_type.tolist()
    assert types.count(NODE_TYPES.index("bias")) == arch.depth + 1
    assert st.node_order[st.node_type == NODE_TYPES.index("output")].tolist() == [0, 1, 2, 3]
    assert st.node_order[st.node_type == NODE_TYPES.index("hidden")].eq(-1).all()
    assert st.node_layer[st.node_type == NODE_TYPES.index("output")].eq(arch.depth + 2).all()


@pytest.mark.parametrize("family,extra", [("siren", 0), ("rffnet", 1), ("mfn", 0)])
@pytest.mark.parametrize("depth,hidden", [(3, 32), (2, 16), (1, 8)])
def test_shape_nf_graphs_have_the_counted_nodes_and_edges(family, extra, depth, hidden):
    spec = ArchSpec(family=family, in_dim=3, out_dim=1, hidden=hidden, depth=depth, rff_features=5)
    st = graph_structure(shape_graph_arch(spec))
    fourier = 2 * spec.rff_features if family == "rffnet" else 0
    biases = 2 * depth if family == "mfn" else depth + 1               # MFN: a filter phase per layer too
    assert st.num_nodes == 3 + fourier + depth * hidden + 1 + biases
    assert st.num_edges == spec.num_params + extra * spec.rff_features * 3   # B entries feed sin and cos


def test_edge_values_are_the_parameters_and_batches_offset_the_nodes():
    spec = ArchSpec(family="rffnet", in_dim=2, out_dim=3, hidden=6, depth=2, rff_features=4, rff_std=7.0)
    ga = shape_graph_arch(spec)
    theta = torch.randn(3, spec.num_params, dtype=torch.float64)
    g = param_graphs(ga, theta)
    st = graph_structure(ga)
    v, e = st.num_nodes, st.num_edges
    assert (g.num_graphs, g.num_nodes, g.num_edges) == (3, 3 * v, 3 * e)
    assert g.edge_value.dtype == torch.float64
    b = spec.tensor("fourier.weight")
    for n in range(3):
        vals = g.edge_value[n * e:(n + 1) * e]
        fourier = st.edge_type == EDGE_TYPES.index("fourier")
        assert torch.allclose(vals[fourier], 7.0 * theta[n, b.offset:b.stop].repeat(2))
        assert torch.equal(vals[~fourier].sort().values, theta[n, b.stop:].sort().values)
        assert torch.equal(g.edge_src[n * e:(n + 1) * e], st.edge_src + n * v)
        assert g.edge_graph[n * e:(n + 1) * e].eq(n).all() and g.node_graph[n * v:(n + 1) * v].eq(n).all()
    both = concat_graphs([g, param_graphs(shape_graph_arch(ArchSpec(family="siren", hidden=4, depth=1)),
                                          torch.zeros(1, ArchSpec(family="siren", hidden=4, depth=1).num_params))])
    assert both.num_graphs == 4 and both.edge_graph[-1] == 3 and int(both.edge_src[3 * e:].min()) >= 3 * v
    with pytest.raises(BadInputError, match="expects NF vectors"):
        param_graphs(ga, theta[:, :-1])


@pytest.mark.parametrize("reduce", ["sum", "concat"])
def test_triplane_edges_hold_the_texel_at_the_cell_position(reduce):
    arch = NerfArch(kind="triplane", plane_res=4, plane_channels=3, plane_reduce=reduce, hidden=8, depth=1, num_freqs=1)
    theta = init_nerf_batch(arch, 1, seed=3, mode="random")
    st = graph_structure(nerf_graph_arch(arch))
    g = param_graphs(nerf_graph_arch(arch), theta)
    grid = g.edge_type == EDGE_TYPES.index("grid")
    pos, val = g.edge_pos[grid], g.edge_value[grid]
    chan = g.edge_dst[grid] - st.group_range["channels"][0]
    planes = unflatten(arch, theta)["planes"][0]                      # [3, C, R, R]
    r = arch.plane_res
    assert grid.sum() == 3 * r * r * arch.plane_channels
    assert torch.allclose(pos[:, 6], torch.full_like(pos[:, 6], math.log2(r)))
    for p, (a, b) in enumerate(PLANE_AXES):
        lo, hi = st.group_range[f"plane{p}"]
        on = (g.edge_src[grid] >= lo) & (g.edge_src[grid] < hi)
        mask = torch.zeros(3)
        mask[[a, b]] = 1.0
        assert torch.equal(pos[on, 3:6], mask.expand(int(on.sum()), 3))   # spans its two axes
        assert pos[on, 3 - a - b].eq(0).all()
        col, row = (pos[on, a] * (r - 1)).round().long(), (pos[on, b] * (r - 1)).round().long()
        k = chan[on] - (p * arch.plane_channels if reduce == "concat" else 0)
        assert torch.equal(val[on], planes[p, k, row, col])           # texel (row, col) sits at (u_a, u_b)
    if reduce == "concat":                                           # the NeRF's own bilinear lookup at that point
        u = pos[:, :3].clone()
        u[pos[:, 3:6] == 0] = 0.37
        feats = _sample_planes(arch, unflatten(arch, theta)["planes"], u.unsqueeze(0))[0]   # [E_grid, 3C]
        assert torch.allclose(feats.gather(1, chan.unsqueeze(1)).squeeze(1), val, atol=1e-6)


def hash_standin() -> tuple[object, int]:
    """A stand-in multiresolution-grid NeRF: tables [2, 16, 2]; level 0 of resolution 1 (its 8
    vertices indexed one-to-one in rows 0-7, rows 8-15 unread), level 1 of resolution 3 (64
    vertices > 16 rows: hashed); a 1x8 ReLU MLP on the 4 concatenated features."""
    levels, end = multires_grid_levels(0, (1, 3), table_size=16, features=2)
    specs = linear_tensor_specs([("l0", 4, 8), ("out", 8, 4)], end)
    mlp = [(specs[0], specs[1]), (specs[2], specs[3])]
    return grid_mlp_graph_arch("hash stand-in", specs[-1].stop, levels, 4, 0, False, mlp), end


def test_a_multiresolution_grid_graph_is_cells_per_level_to_channels():
    ga, end = hash_standin()
    assert end == 2 * 16 * 2
    st = graph_structure(ga)
    assert st.num_nodes == 3 + 8 + 16 + 4 + 8 + 4 + 2
    assert st.num_edges == 8 * 2 + 16 * 2 + 4 * 8 + 8 * 4 + 8 + 4 == ga.num_params - 8 * 2   # unread rows left out
    theta = torch.randn(1, ga.num_params)
    g = param_graphs(ga, theta)
    lo0, _ = st.group_range["level0"]
    lo1, hi1 = st.group_range["level1"]
    ch0 = st.group_range["channels"][0]
    grid = (g.edge_type == EDGE_TYPES.index("grid")).nonzero().flatten()
    for i in grid.tolist():
        cell, chan = int(g.edge_src[i]), int(g.edge_dst[i]) - ch0
        pos = g.edge_pos[i]
        if cell < lo1:                                               # dense level: row x + 2 (y + 2 z), features 0-1
            idx = cell - lo0
            x, y, z = idx % 2, (idx // 2) % 2, idx // 4
            assert pos[:6].tolist() == [x, y, z, 1.0, 1.0, 1.0] and pos[6] == 0.0   # log2 of resolution 1
            assert chan in (0, 1) and g.edge_value[i] == theta[0, idx * 2 + chan]
        else:                                                        # hashed level: no position, features 2-3
            assert lo1 <= cell < hi1 and pos[:6].eq(0).all() and pos[6] == pytest.approx(math.log2(3))
            assert chan in (2, 3) and g.edge_value[i] == theta[0, 32 + (cell - lo1) * 2 + chan - 2]


HASH_NERFS = [NerfArch(kind="hash"), NerfArch(kind="hash", hash_levels=3, hash_log2_size=6, hash_features=3,
                                              hash_base_res=2, hash_growth=2.0, num_freqs=0, depth=2, hidden=8),
              NerfArch(kind="hash", hash_levels=2, hash_log2_size=4, hash_base_res=5, num_freqs=2, include_xyz=True,
                       hidden=6, depth=1)]


def hash_counts(a: NerfArch) -> tuple[int, int]:
    """(nodes, edges) of a hash NeRF's parameter graph, by formula: a node per vertex of a level
    indexed one-to-one, a node per row of a hashed one."""
    h, d, f, t = a.hidden, a.depth, a.hash_features, a.hash_table_size
    enc = a.encoding_dim
    cells = sum((r + 1) ** 3 if (r + 1) ** 3 <= t else t for r in a.hash_resolutions)
    chans = a.hash_levels * f
    mlp_nodes = d * h + 4 + (d + 1)
    mlp_edges = (d - 1) * h * h + 4 * h + d * h + 4
    return 3 + cells + chans + enc + mlp_nodes, cells * f + enc + (chans + enc) * h + mlp_edges


@pytest.mark.parametrize("arch", HASH_NERFS, ids=lambda a: f"L{a.hash_levels}T{a.hash_log2_size}F{a.hash_features}")
def test_hash_nerf_graphs_have_the_counted_nodes_and_edges_and_every_read_parameter(arch):
    st = graph_structure(nerf_graph_arch(arch))
    assert (st.num_nodes, st.num_edges) == hash_counts(arch)
    tables = arch.tensors()[0]
    read = torch.ones(arch.num_params, dtype=torch.bool)             # the rows hash_encode can read
    t, f = arch.hash_table_size, arch.hash_features
    for lvl, r in enumerate(arch.hash_resolutions):
        if (r + 1) ** 3 <= t:
            read[tables.offset + (lvl * t + (r + 1) ** 3) * f: tables.offset + (lvl + 1) * t * f] = False
    params = st.edge_param[st.edge_param < arch.num_params]
    assert torch.equal(params.sort().values, read.nonzero().flatten())   # each once, the unread rows not at all
    assert st.node_type.tolist().count(NODE_TYPES.index("channel")) == arch.hash_levels * f


@pytest.mark.parametrize("arch", HASH_NERFS[1:], ids=["3-levels", "2-levels"])
def test_hash_grid_edges_hold_what_the_nerfs_own_lookup_reads_at_their_vertex(arch):
    """At a vertex of level l (u = vertex / N_l) the trilinear lookup of level l returns that
    vertex's row alone: the edge values of its cell must be those features, for dense levels at the
    edge's own position and for hashed rows at any vertex that hashes to them."""
    theta = init_nerf_batch(arch, 1, seed=3, mode="random")
    theta = theta + torch.randn(theta.shape, generator=torch.Generator().manual_seed(0)) * 0.1
    ga = nerf_graph_arch(arch)
    st, g = graph_structure(ga), param_graphs(ga, theta)
    tables = unflatten(arch, theta)["tables"]
    ch0 = st.group_range["channels"][0]
    f, t = arch.hash_features, arch.hash_table_size
    for lvl, r in enumerate(arch.hash_resolutions):
        lo, hi = st.group_range[f"level{lvl}"]
        on = (g.edge_src >= lo) & (g.edge_src < hi)
        chan = g.edge_dst[on] - ch0
        assert chan.min() == lvl * f and chan.max() == lvl * f + f - 1
        if (r + 1) ** 3 <= t:
            u = g.edge_pos[on, :3]
            assert g.edge_pos[on, 3:6].eq(1).all()
            feats = hash_encode(tables, u.unsqueeze(0), arch.hash_resolutions)[0]          # [E_level, L F]
            torch.testing.assert_close(feats.gather(1, chan.unsqueeze(1)).squeeze(1), g.edge_value[on])
        else:
            assert g.edge_pos[on, :6].eq(0).all()
            vert = torch.stack(torch.meshgrid(*[torch.arange(r + 1)] * 3, indexing="ij"), -1).reshape(-1, 3)
            rows = corner_indices(vert.unsqueeze(1), torch.tensor([r]), t)[:, 0, 0]        # corner 0 = the vertex
            feats = hash_encode(tables, (vert.float() / r).unsqueeze(0), arch.hash_resolutions)[0]
            cell = g.edge_src[on] - lo
            for row in rows.unique()[:5].tolist():
                v = int((rows == row).nonzero()[0])
                sel = cell == row
                torch.testing.assert_close(feats[v, chan[sel]], g.edge_value[on][sel])


def test_unknown_groups_and_mismatched_tensors_are_refused():
    good, _ = hash_standin()
    bad = type(good)(good.name, good.num_params, good.groups[:-1], good.blocks)   # no output group
    with pytest.raises(ValueError, match="unknown node group"):
        graph_structure(bad)
    with pytest.raises(ValueError, match="does not fit"):
        graph_structure(type(good)(good.name, good.num_params - 10, good.groups, good.blocks))

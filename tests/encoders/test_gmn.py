"""The graph meta-network encoder (encoders/gmn.py): invariant to the permutation symmetries of
every architecture (checked first to leave the NF's function unchanged), not to a permutation that
changes it, and a batch of graphs of different sizes embeds as each graph alone."""
from __future__ import annotations

import pytest
import torch

from nf2vec_core.encoders.gmn import GMNConfig, GMNEncoder
from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.nerf.arch import NerfArch, init_nerf_batch, nerf_forward
from nf2vec_core.nerf.arch import unflatten as nerf_unflatten
from nf2vec_core.nerf.param_graph import nerf_graph_arch
from nf2vec_core.nf.functional import forward as nf_forward
from nf2vec_core.nf.functional import unflatten as nf_unflatten
from nf2vec_core.encoders.graph_archs import shape_graph_arch
from nf2vec_core.nf.layout import ArchSpec
from nf2vec_core.encoders.param_graph import concat_graphs, param_graphs
from nf2vec_core.runtime import torch_threads

SMALL = GMNConfig(hidden=32, layers=3, embed_dim=16)
NERFS = {
    "mlp": NerfArch(hidden=8, depth=2, num_freqs=2),
    "triplane": NerfArch(kind="triplane", plane_res=4, plane_channels=3, hidden=8, depth=2, num_freqs=1),
    "triplane-concat": NerfArch(kind="triplane", plane_res=3, plane_channels=2, plane_reduce="concat", hidden=6,
                                depth=2, num_freqs=1),
    "hash": NerfArch(kind="hash", hash_levels=3, hash_log2_size=6, hash_features=3, hash_base_res=2, hash_growth=2.0,
                     hidden=8, depth=2, num_freqs=1),
}
SHAPES = {
    "siren": ArchSpec(family="siren", hidden=8, depth=2),
    "rffnet": ArchSpec(family="rffnet", hidden=8, depth=2, rff_features=4),
    "mfn": ArchSpec(family="mfn", hidden=8, depth=3),
}


@pytest.fixture(autouse=True)
def one_thread():
    """Graphs this small run fastest on one thread (on a busy CPU the thread pool's hand-offs
    cost more than the work)."""
    with torch_threads(1):
        yield


def _flat(specs, named: dict[str, torch.Tensor], n: int) -> torch.Tensor:
    return torch.cat([named[t.name].reshape(n, -1) for t in specs], dim=1)


def _cols(w: torch.Tensor, perm: torch.Tensor, start: int = 0) -> torch.Tensor:
    idx = torch.arange(w.shape[-1])
    idx[start:start + perm.numel()] = perm + start
    return w[..., idx]


def permute_nerf(arch: NerfArch, theta: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random permutations of every hidden layer and of the plane channels."""
    p = {k: v.clone() for k, v in nerf_unflatten(arch, theta).items()}
    for i in range(arch.depth):
        perm = torch.randperm(arch.hidden, generator=gen)
        p[f"l{i}.weight"], p[f"l{i}.bias"] = p[f"l{i}.weight"][:, perm], p[f"l{i}.bias"][:, perm]
        nxt = f"l{i + 1}" if i + 1 < arch.depth else "out"
        p[f"{nxt}.weight"] = _cols(p[f"{nxt}.weight"], perm)
    if arch.kind == "triplane":
        c = arch.plane_channels
        planes = p["planes"].clone()
        shared = torch.randperm(c, generator=gen)
        for q in range(3):                                    # summed planes share a permutation
            perm = torch.randperm(c, generator=gen) if arch.plane_reduce == "concat" else shared
            planes[:, q] = p["planes"][:, q, perm]
            if arch.plane_reduce == "concat" or q == 0:
                p["l0.weight"] = _cols(p["l0.weight"], perm, q * c if arch.plane_reduce == "concat" else 0)
        p["planes"] = planes
    if arch.kind == "hash":                                    # each level's features, all its rows alike
        f = arch.hash_features
        tables = p["tables"].clone()
        for lvl in range(arch.hash_levels):
            perm = torch.randperm(f, generator=gen)
            tables[:, lvl] = p["tables"][:, lvl][..., perm]
            p["l0.weight"] = _cols(p["l0.weight"], perm, lvl * f)
        p["tables"] = tables
    return _flat(arch.tensors(), p, theta.shape[0])


def permute_shape(spec: ArchSpec, theta: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random permutations of every hidden layer (and of the RFFNet Fourier features)."""
    p = {k: v.clone() for k, v in nf_unflatten(spec, theta).items()}
    d, h = spec.depth, spec.hidden
    for k in range(1, d + 1):                                  # hidden layer k
        perm = torch.randperm(h, generator=gen)
        writers = ([f"filter{k - 1}"] + ([f"l{k - 2}"] if k >= 2 else [])) if spec.family == "mfn" else [f"l{k - 1}"]
        for w in writers:
            p[f"{w}.weight"], p[f"{w}.bias"] = p[f"{w}.weight"][:, perm], p[f"{w}.bias"][:, perm]
        reader = (f"l{k - 1}" if spec.family == "mfn" else f"l{k}") if k < d else "out"
        p[f"{reader}.weight"] = _cols(p[f"{reader}.weight"], perm)
    if spec.family == "rffnet":
        f = spec.rff_features
        perm = torch.randperm(f, generator=gen)
        p["fourier.weight"] = p["fourier.weight"][:, perm]
        p["l0.weight"] = _cols(_cols(p["l0.weight"], perm), perm, f)   # the sin and the cos features
    return _flat(spec.tensors(), p, theta.shape[0])


def _nerf_case(name: str, gen: torch.Generator):
    arch = NERFS[name]
    theta = init_nerf_batch(arch, 2, seed=11, mode="random").double()
    if arch.kind == "hash":                                   # tables of a trained size (the init is ~1e-4)
        theta[:, :arch.tensors()[0].numel] = torch.rand(2, arch.tensors()[0].numel, generator=gen).double() - 0.5
    permuted = permute_nerf(arch, theta, gen)
    x = torch.rand(64, 3, generator=gen, dtype=torch.float64) * 2 - 1
    assert torch.allclose(nerf_forward(arch, theta, x), nerf_forward(arch, permuted, x), atol=1e-10)
    return nerf_graph_arch(arch), theta, permuted


def _shape_case(name: str, gen: torch.Generator):
    spec = SHAPES[name]
    theta = torch.randn(2, spec.num_params, generator=gen, dtype=torch.float64) * 0.3
    permuted = permute_shape(spec, theta, gen)
    x = torch.rand(64, 3, generator=gen, dtype=torch.float64)
    assert torch.allclose(nf_forward(spec, theta, x), nf_forward(spec, permuted, x), atol=1e-9)
    return shape_graph_arch(spec), theta, permuted


def _case(name: str, gen: torch.Generator):
    return _nerf_case(name, gen) if name in NERFS else _shape_case(name, gen)


def _encoder(cfg: GMNConfig = SMALL) -> GMNEncoder:
    torch.manual_seed(0)
    return GMNEncoder(cfg).double().eval()


@pytest.mark.parametrize("name", [*NERFS, *SHAPES])
def test_permuting_hidden_neurons_leaves_the_embedding_unchanged(name):
    gen = torch.Generator().manual_seed(5)
    ga, theta, permuted = _case(name, gen)
    enc = _encoder()
    with torch.no_grad():
        z, zp = enc(param_graphs(ga, theta)), enc(param_graphs(ga, permuted))
    assert z.shape == (2, SMALL.embed_dim)
    torch.testing.assert_close(zp, z)
    assert not torch.allclose(z[0], z[1], atol=1e-4)            # two NFs, two embeddings


@pytest.mark.parametrize("cfg", [GMNConfig(),
                                 GMNConfig(hidden=16, directed=False, readout_layers=2, aggregation="sum")],
                         ids=["paper", "undirected-sum-2readout"])
def test_invariance_holds_for_other_settings(cfg):
    gen = torch.Generator().manual_seed(6)
    ga, theta, permuted = _case("triplane", gen)
    enc = _encoder(cfg)
    with torch.no_grad():
        torch.testing.assert_close(enc(param_graphs(ga, permuted)), enc(param_graphs(ga, theta)))


def test_swapping_output_channels_changes_the_embedding():
    arch = NERFS["mlp"]
    theta = init_nerf_batch(arch, 1, seed=2, mode="random").double()
    p = nerf_unflatten(arch, theta)
    swapped = theta.clone()
    out = arch.tensors()[-2]                                  # out.weight [4, H]: the outputs are ordered
    swapped[:, out.offset:out.stop] = p["out.weight"][:, [3, 1, 2, 0]].reshape(1, -1)
    enc = _encoder()
    ga = nerf_graph_arch(arch)
    with torch.no_grad():
        assert not torch.allclose(enc(param_graphs(ga, theta)), enc(param_graphs(ga, swapped)), atol=1e-6)


@pytest.mark.parametrize("cfg", [SMALL, GMNConfig(hidden=16, layers=2, embed_dim=8, directed=False, readout_layers=2)],
                         ids=["directed", "undirected-2readout"])
def test_a_batch_of_graphs_of_different_sizes_embeds_as_each_alone(cfg):
    gen = torch.Generator().manual_seed(7)
    parts = []
    for name in ["mlp", "siren", "triplane", "mfn", "triplane-concat", "rffnet", "hash"]:
        ga, theta, _ = _case(name, gen)
        parts.append(param_graphs(ga, theta[: 1 + len(parts) % 2]))
    enc = _encoder(cfg)
    with torch.no_grad():
        together = enc(concat_graphs(parts))
        alone = torch.cat([enc(g) for g in parts])
    assert together.shape == (sum(g.num_graphs for g in parts), cfg.embed_dim)
    torch.testing.assert_close(together, alone)


def test_one_encoder_embeds_nerfs_of_unseen_depths_widths_and_resolutions():
    archs = [NerfArch(), NerfArch(depth=2), NerfArch(hidden=32),
             NerfArch(kind="triplane", plane_res=8), NerfArch(kind="triplane", plane_res=6, plane_channels=8, depth=2),
             NerfArch(kind="hash", hash_levels=4, hash_log2_size=8)]
    batch = concat_graphs([param_graphs(nerf_graph_arch(a), init_nerf_batch(a, 1, seed=1)) for a in archs])
    torch.manual_seed(0)
    with torch.no_grad():
        z = GMNEncoder(SMALL)(batch)
    assert z.shape == (len(archs), SMALL.embed_dim) and torch.isfinite(z).all()
    assert torch.cdist(z, z).add(torch.eye(len(archs))).min() > 1e-4


def test_bad_configs_and_inputs_are_refused():
    with pytest.raises(ConfigError, match="gmn.hidden"):
        GMNConfig(hidden=0)
    with pytest.raises(ConfigError, match="gmn.aggregation"):
        GMNConfig(aggregation="max")
    with pytest.raises(BadInputError, match="GraphBatch"):
        GMNEncoder(SMALL)(torch.zeros(2, 3))

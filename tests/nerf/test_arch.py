import math

import pytest
import torch

from nf2vec_core.errors import ConfigError
from nf2vec_core.nerf.arch import (ARCH_VARIANTS, NerfArch, activate, arch_variant, encode_frequencies, init_nerf,
                                   init_nerf_batch, nerf_forward, normalize_points, radiance, trunc_exp, unflatten)
from nf2vec_core.nerf.hashgrid import hash_encode
from nf2vec_core.nerf.render import render_images
from nf2vec_core.nerf.render_config import RenderConfig
from nf2vec_core.nerf.rays import sphere_poses

HASH = NerfArch(kind="hash", num_freqs=0, hidden=16, depth=2, hash_levels=4, hash_log2_size=8, hash_features=2,
                hash_base_res=2, hash_growth=2.0)


def test_nf2vec_layout_matches_the_paper():
    arch = NerfArch(num_freqs=24)                       # 3 x 64, 24 frequencies -> 144-d input (Ballerini et al. 2025 app. B)
    assert arch.encoding_dim == 144
    names = [t.name for t in arch.tensors()]
    assert names == ["l0.weight", "l0.bias", "l1.weight", "l1.bias", "l2.weight", "l2.bias", "out.weight", "out.bias"]
    assert arch.tensors()[0].shape == (64, 144) and arch.tensors()[-2].shape == (4, 64)
    assert arch.num_params == 144 * 64 + 64 + 2 * (64 * 64 + 64) + 64 * 4 + 4
    offsets = [t.offset for t in arch.tensors()]
    assert offsets == sorted(offsets) and offsets[0] == 0


def test_triplane_layout():
    arch = NerfArch(kind="triplane", plane_res=8, plane_channels=4, num_freqs=2, hidden=16, depth=2,
                    plane_reduce="concat")
    t = arch.tensors()
    assert t[0].name == "planes" and t[0].shape == (3, 4, 8, 8) and t[0].offset == 0
    assert t[1].name == "l0.weight" and t[1].shape == (16, 3 * 4 + 12) and t[1].offset == 3 * 4 * 64
    assert NerfArch(kind="triplane", plane_channels=4, num_freqs=0).feature_dim == 4          # summed planes
    assert NerfArch.from_json(arch.to_json()) == arch


def test_frequency_encoding_values():
    u = torch.tensor([[0.25, 0.5, 1.0]])
    enc = encode_frequencies(u, 2, include_xyz=True)
    z = [math.pi * 0.25, 2 * math.pi * 0.25, math.pi * 0.5, 2 * math.pi * 0.5, math.pi, 2 * math.pi]
    expect = [0.25, 0.5, 1.0] + [math.sin(v) for v in z] + [math.cos(v) for v in z]
    assert torch.allclose(enc[0], torch.tensor(expect), atol=1e-6)
    arch = NerfArch(aabb=(-1.0, 0.0, 2.0, 1.0, 4.0, 3.0))
    assert torch.allclose(normalize_points(arch, torch.tensor([[0.0, 1.0, 3.0]])), torch.tensor([[0.5, 0.25, 1.0]]))


class _TorchMLP(torch.nn.Module):
    """The nf2vec NeRF written with torch.nn layers (independent reference)."""

    def __init__(self, arch):
        super().__init__()
        dims = [arch.encoding_dim] + [arch.hidden] * arch.depth
        self.layers = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.out = torch.nn.Linear(arch.hidden, 4)
        self.arch = arch

    def forward(self, x):
        box = torch.tensor(self.arch.aabb)
        u = (x - box[:3]) / (box[3:] - box[:3])
        # the documented layout to the documented layout: sin block d-major (d*L + k), then cos block
        sin = torch.stack([torch.sin(math.pi * 2.0 ** k * u) for k in range(self.arch.num_freqs)], -1).flatten(-2)
        cos = torch.stack([torch.cos(math.pi * 2.0 ** k * u) for k in range(self.arch.num_freqs)], -1).flatten(-2)
        h = torch.cat([sin, cos], -1)
        for layer in self.layers:
            h = torch.relu(layer(h))
        return self.out(h)

    def flat(self):
        parts = []
        for layer in list(self.layers) + [self.out]:
            parts += [layer.weight.reshape(-1), layer.bias]
        return torch.cat(parts).detach()


def test_mlp_forward_matches_torch_modules_and_is_batched():
    arch = NerfArch(num_freqs=4, hidden=16, depth=3, aabb=(-1.5, -1.5, -1.5, 1.5, 1.5, 1.5))
    torch.manual_seed(0)
    nets = [_TorchMLP(arch) for _ in range(3)]
    theta = torch.stack([n.flat() for n in nets])
    assert theta.shape == (3, arch.num_params)
    x = torch.rand(3, 50, 3) * 3 - 1.5
    out = nerf_forward(arch, theta, x)
    for i, net in enumerate(nets):
        assert torch.allclose(out[i], net(x[i]), atol=1e-5)
    shared = nerf_forward(arch, theta, x[0])
    assert torch.allclose(shared[1], nets[1](x[0]), atol=1e-5)


def _bilinear(plane, a, b):
    """Manual bilinear lookup: plane [C, R, R], column coordinate a, row coordinate b, in [0, 1]."""
    r = plane.shape[-1]
    fa, fb = a * (r - 1), b * (r - 1)
    c0, r0 = int(min(math.floor(fa), r - 2)), int(min(math.floor(fb), r - 2))
    wa, wb = fa - c0, fb - r0
    return ((1 - wa) * (1 - wb) * plane[:, r0, c0] + wa * (1 - wb) * plane[:, r0, c0 + 1]
            + (1 - wa) * wb * plane[:, r0 + 1, c0] + wa * wb * plane[:, r0 + 1, c0 + 1])


@pytest.mark.parametrize("reduce", ["sum", "concat"])
def test_triplane_forward_matches_manual_bilinear_sine_mlp(reduce):
    arch = NerfArch(kind="triplane", plane_res=5, plane_channels=3, plane_reduce=reduce, num_freqs=1, hidden=8,
                    depth=2, w0=3.0, w0_first=5.0)
    theta = init_nerf_batch(arch, 2, seed=1, mode="random")
    x = torch.rand(2, 7, 3) * 2 - 1
    out = nerf_forward(arch, theta, x)
    for n in range(2):
        p = unflatten(arch, theta[n])
        for m in range(7):
            u = (x[n, m] + 1) / 2
            f = [_bilinear(p["planes"][k], u[a], u[b]) for k, (a, b) in enumerate([(0, 1), (0, 2), (1, 2)])]
            feat = sum(f) if reduce == "sum" else torch.cat(f)
            h = torch.cat([feat, encode_frequencies(u[None], 1)[0]])
            h = torch.sin(5.0 * (p["l0.weight"] @ h + p["l0.bias"]))
            h = torch.sin(3.0 * (p["l1.weight"] @ h + p["l1.bias"]))
            assert torch.allclose(out[n, m], p["out.weight"] @ h + p["out.bias"], atol=1e-5)


def test_gradients_reach_every_tensor():
    arch = NerfArch(kind="triplane", plane_res=4, plane_channels=2, num_freqs=2, hidden=8, depth=2)
    theta = init_nerf_batch(arch, 2, seed=0).requires_grad_(True)
    rgb, sigma = radiance(arch, theta, torch.rand(64, 3) * 2 - 1)
    (rgb.sum() + sigma.sum()).backward()
    g = unflatten(arch, theta.grad)
    assert all(float(v.abs().sum()) > 0 for v in g.values())


def test_init_is_seeded_and_shared():
    arch = NerfArch(num_freqs=3, hidden=8)
    a, b = init_nerf(arch, 5), init_nerf(arch, 5)
    assert torch.equal(a, b) and not torch.equal(a, init_nerf(arch, 6))
    shared = init_nerf_batch(arch, 3, seed=5)
    assert torch.equal(shared[2], a)
    rnd = init_nerf_batch(arch, 3, seed=5, mode="random", start_index=1)
    assert torch.equal(rnd[1], init_nerf_batch(arch, 1, seed=5, mode="random", start_index=2)[0])
    assert not torch.equal(rnd[0], rnd[1])
    w = unflatten(arch, a)["l1.weight"]
    assert float(w.abs().max()) <= math.sqrt(6 / 8) and float(w.std()) > 0.3 * math.sqrt(6 / 8) / math.sqrt(3)
    with pytest.raises(ValueError):
        init_nerf_batch(arch, 2, seed=0, mode="other")


def test_density_activations_and_trunc_exp():
    raw = torch.tensor([[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, -3.0]])
    rgb, sigma = activate(NerfArch(), raw)
    assert torch.allclose(rgb, torch.full((2, 3), 0.5)) and torch.allclose(sigma, torch.exp(torch.tensor([0.0, -4.0])))
    _, s2 = activate(NerfArch(density_activation="relu", density_shift=0.0), raw)
    assert s2.tolist() == [1.0, 0.0]
    x = torch.tensor([20.0], requires_grad=True)
    trunc_exp(x).backward()
    assert float(x.grad) == pytest.approx(math.exp(15.0), rel=1e-5)


def test_arch_validation():
    with pytest.raises(ValueError, match="unknown NeRF kind"):
        NerfArch(kind="voxel")
    with pytest.raises(ValueError):
        NerfArch(num_freqs=0)
    with pytest.raises(ValueError):
        NerfArch(aabb=(1, 0, 0, 0, 1, 1))
    with pytest.raises(ValueError, match="expects"):
        nerf_forward(NerfArch(num_freqs=2), torch.zeros(1, 5), torch.zeros(1, 3))


# ------------------------------------------------------------------------------ hash grid
def test_hash_layout_and_json():
    assert HASH.hash_resolutions == (2, 4, 8, 16) and HASH.hash_table_size == 256
    t = HASH.tensors()
    assert t[0].name == "tables" and t[0].shape == (4, 256, 2) and t[0].offset == 0
    assert t[1].name == "l0.weight" and t[1].shape == (16, 4 * 2) and t[1].offset == 4 * 256 * 2
    assert HASH.num_params == 4 * 256 * 2 + (8 * 16 + 16) + (16 * 16 + 16) + (16 * 4 + 4)
    assert NerfArch(kind="hash", num_freqs=3, hash_levels=4).feature_dim == 4 * 2 + 18
    assert NerfArch.from_json(HASH.to_json()) == HASH
    assert '"hash_levels": 4' in HASH.to_json() and "hash_" not in NerfArch().to_json()   # other kinds: as before


def test_hash_forward_is_batched_per_nerf():
    theta = init_nerf_batch(HASH, 3, seed=2, mode="random")
    theta[:, :HASH.tensors()[0].stop] = torch.randn(3, HASH.tensors()[0].numel)           # visible table values
    x = torch.rand(3, 40, 3) * 2.4 - 1.2                                                   # some outside the box
    out = nerf_forward(HASH, theta, x)
    assert out.shape == (3, 40, 4) and torch.isfinite(out).all()
    for i in range(3):
        assert torch.allclose(out[i:i + 1], nerf_forward(HASH, theta[i:i + 1], x[i:i + 1]), atol=1e-6)
    p = unflatten(HASH, theta[1:2])                                                        # the documented head
    h = hash_encode(p["tables"], normalize_points(HASH, x[1:2]), HASH.hash_resolutions)[0]
    h = torch.relu(h @ p["l0.weight"][0].T + p["l0.bias"][0])
    h = torch.relu(h @ p["l1.weight"][0].T + p["l1.bias"][0])
    assert torch.allclose(out[1], h @ p["out.weight"][0].T + p["out.bias"][0], atol=1e-5)
    assert nerf_forward(HASH, theta, x[0]).shape == (3, 40, 4)                             # shared points


def test_hash_gradients_reach_the_table_entries():
    theta = init_nerf_batch(HASH, 2, seed=0).requires_grad_(True)
    rgb, sigma = radiance(HASH, theta, torch.rand(64, 3) * 2 - 1)
    (rgb.sum() + sigma.sum()).backward()
    g = unflatten(HASH, theta.grad)
    assert all(float(v.abs().sum()) > 0 for v in g.values())
    rows = (g["tables"][0].abs().sum(-1) > 0).sum(-1)                        # rows read per level
    assert rows.tolist()[0] == 27 and bool((rows[1:] > 27).all())            # level 0: all 3^3 vertices


def test_hash_init_is_seeded_and_shared():
    a, b = init_nerf(HASH, 5), init_nerf(HASH, 5)
    assert torch.equal(a, b) and not torch.equal(a, init_nerf(HASH, 6))
    assert torch.equal(init_nerf_batch(HASH, 3, seed=5)[2], a)
    tables = unflatten(HASH, a)["tables"]
    assert float(tables.abs().max()) <= HASH.hash_init and float(tables.std()) > 0.3 * HASH.hash_init
    w = unflatten(HASH, a)["l1.weight"]
    assert float(w.abs().max()) <= math.sqrt(6 / 16) and float(w.std()) > 0.3 * math.sqrt(6 / 16) / math.sqrt(3)


def test_hash_validation():
    with pytest.raises(ValueError, match="hash_log2_size"):
        NerfArch(kind="hash", hash_log2_size=30)
    with pytest.raises(ValueError, match="hash_growth"):
        NerfArch(kind="hash", hash_growth=0.5)
    with pytest.raises(ValueError, match="finest hash level"):
        NerfArch(kind="hash", hash_base_res=16, hash_growth=2.0, hash_levels=16)
    with pytest.raises(ValueError, match=">= 1"):
        NerfArch(kind="hash", hash_features=0)
    NerfArch(kind="mlp", hash_log2_size=30)                                   # only checked for a hash grid


# ------------------------------------------------------------------------ unseen variants
@pytest.mark.parametrize("name", list(ARCH_VARIANTS))
def test_unseen_architecture_variants_initialise_and_render(name):
    """Embed Any NeRF's (Ballerini et al. 2025) unseen architectures from the MLP and tri-plane
    NeRFs: one size changed each."""
    bases = {"mlp": NerfArch(num_freqs=4), "triplane": NerfArch(kind="triplane", num_freqs=4, plane_reduce="concat")}
    kind, changes = ARCH_VARIANTS[name]
    base = bases[kind]
    arch = arch_variant(base, name)
    assert all(getattr(arch, k) == v != getattr(base, k) for k, v in changes.items())
    assert arch.num_params < base.num_params
    assert NerfArch.from_json(arch.to_json()) == arch
    theta = init_nerf_batch(arch, 2, seed=0, mode="random")
    assert theta.shape == (2, arch.num_params) and torch.isfinite(theta).all()
    img = render_images(arch, theta, sphere_poses(2, 3.0).expand(2, -1, -1, -1), 8.0, 6, 6,
                        RenderConfig(samples_per_ray=8), background=torch.ones(3))
    assert img.color.shape == (2, 2, 6, 6, 3) and torch.isfinite(img.color).all()
    assert float((img.color[0] - img.color[1]).abs().max()) > 0                # two different NeRFs
    other = bases["triplane" if kind == "mlp" else "mlp"]
    with pytest.raises(ConfigError, match="changes a"):
        arch_variant(other, name)
    with pytest.raises(ConfigError, match="unknown NeRF architecture variant"):
        arch_variant(base, "MLP-7L")

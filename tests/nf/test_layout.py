import pytest
import torch

from nf2vec_core.nf.functional import forward, stack_rows, unflatten
from nf2vec_core.nf.init import init_batch, init_vector
from nf2vec_core.nf.layout import ArchSpec


@pytest.mark.parametrize("family", ["siren", "rffnet", "mfn"])
def test_layout_is_contiguous_and_roundtrips(family):
    spec = ArchSpec(family, in_dim=3, out_dim=2, hidden=16, depth=3)
    offs = spec.tensors()
    assert offs[0].offset == 0
    for a, b in zip(offs, offs[1:]):
        assert a.stop == b.offset
    assert ArchSpec.from_json(spec.to_json()) == spec
    theta = init_batch(spec, 5, mode="random", seed=3)
    assert theta.shape == (5, spec.num_params)
    assert forward(spec, theta, torch.rand(5, 7, 3)).shape == (5, 7, 2)
    assert forward(spec, theta, torch.rand(7, 3)).shape == (5, 7, 2)   # shared coordinates


def test_siren_forward_matches_nn_modules():
    spec = ArchSpec("siren", in_dim=2, out_dim=1, hidden=8, depth=2, w0=30.0, w0_first=30.0)
    theta = init_vector(spec, 0)
    p = unflatten(spec, theta.unsqueeze(0))
    x = torch.rand(10, 2)
    h = torch.sin(30 * (x @ p["l0.weight"][0].T + p["l0.bias"][0]))
    h = torch.sin(30 * (h @ p["l1.weight"][0].T + p["l1.bias"][0]))
    ref = h @ p["out.weight"][0].T + p["out.bias"][0]
    assert torch.allclose(forward(spec, theta.unsqueeze(0), x)[0], ref, atol=1e-5)


def test_siren_init_bounds_and_shared_vs_random():
    spec = ArchSpec("siren", in_dim=3, hidden=64, depth=3)
    p = unflatten(spec, init_vector(spec, 1))
    assert p["l0.weight"].abs().max() <= 1 / 3
    assert p["l1.weight"].abs().max() <= (6 / 64) ** 0.5 / 30 + 1e-7
    shared = init_batch(spec, 4, mode="shared", seed=7)
    assert torch.equal(shared[0], shared[3])
    rnd = init_batch(spec, 4, mode="random", seed=7)
    assert not torch.equal(rnd[0], rnd[1])
    # chunking does not change which init an NF gets
    assert torch.equal(init_batch(spec, 2, mode="random", seed=7, start_index=2), rnd[2:])
    with pytest.raises(ValueError, match="init mode"):
        init_batch(spec, 1, mode="nope", seed=0)


def test_stack_rows_paper_layout():
    spec = ArchSpec("siren", in_dim=3, out_dim=1, hidden=16, depth=4)
    theta = init_batch(spec, 2, mode="random", seed=0)
    rows = stack_rows(spec, theta)                       # hidden-to-hidden layers only
    assert rows.shape == (2, 3 * (16 + 1), 16)
    p = unflatten(spec, theta)
    assert torch.equal(rows[:, :16], p["l1.weight"].transpose(1, 2))
    assert torch.equal(rows[:, 16], p["l1.bias"])
    full = stack_rows(spec, theta, include_input=True, include_output=True)
    assert full.shape == (2, (3 + 1) + 3 * 17 + 17, 16)  # S = (I+1) + L(H+1) + (H+1), Zama Ramirez et al. 2024 §III
    assert torch.all(full[:, -17:, 1:] == 0)             # output layer zero-padded to H columns


def test_bad_arch_and_bad_vector():
    with pytest.raises(ValueError, match="family"):
        ArchSpec("resnet")
    spec = ArchSpec("siren")
    with pytest.raises(ValueError, match="expects"):
        unflatten(spec, torch.zeros(3, spec.num_params + 1))

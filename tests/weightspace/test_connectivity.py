"""Hidden-neuron permutations, git re-basin weight matching and linear mode connectivity."""
from __future__ import annotations

import dataclasses

import pytest
import torch
from ws_digits import DIGIT_FIT, DIGIT_SPEC, load_digit_images

from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.fields.pixels import image_coords
from nf2vec_core.fitting.engine import FitTargets, fit_chunk, per_nf_loss
from nf2vec_core.nf.functional import forward
from nf2vec_core.nf.init import init_batch, init_vector
from nf2vec_core.nf.layout import ArchSpec
from nf2vec_core.weightspace.connectivity import (ConnectivityCurve, invert_permutations, linear_connectivity,
                                                  match_weights, permutation_groups, permute_vector,
                                                  random_permutations)

FAMILIES = {
    "siren": ArchSpec("siren", in_dim=2, out_dim=2, hidden=16, depth=3),
    "rffnet": ArchSpec("rffnet", in_dim=2, out_dim=2, hidden=16, depth=3, rff_features=8),
    "mfn": ArchSpec("mfn", in_dim=2, out_dim=2, hidden=16, depth=3),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_permuted_network_computes_the_same_function(family):
    spec = FAMILIES[family]
    theta = init_batch(spec, 3, mode="random", seed=0).double()
    perms = random_permutations(spec, seed=1)
    permuted = permute_vector(spec, theta, perms)
    x = torch.rand(50, 2, dtype=torch.float64) * 2 - 1
    assert not torch.allclose(theta, permuted)
    assert torch.allclose(forward(spec, permuted, x), forward(spec, theta, x), atol=1e-12, rtol=0)
    assert torch.equal(permute_vector(spec, permuted, invert_permutations(perms)), theta)
    # moving only the rows of one layer (not the next layer's columns) is NOT a symmetry
    g = permutation_groups(spec)[-1]
    half = {g.name: perms[g.name]}
    broken = permute_vector(spec, theta, half)
    first_tensor, axis = g.members[0]
    t = spec.tensor(first_tensor)
    broken_only_rows = theta.clone()
    broken_only_rows[:, t.offset:t.stop] = broken[:, t.offset:t.stop]
    assert not torch.allclose(forward(spec, broken_only_rows, x), forward(spec, theta, x), atol=1e-6)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_weight_matching_recovers_a_known_permutation_exactly(family):
    spec = FAMILIES[family]
    a = init_vector(spec, 3)
    q = random_permutations(spec, seed=4)
    b = permute_vector(spec, a, q)
    m = match_weights(spec, a, b)
    inverse = invert_permutations(q)
    assert set(m.perms) == set(q)
    for name in q:
        assert torch.equal(m.perms[name], inverse[name]), name
    assert torch.equal(m.aligned, a)
    assert not m.is_identity and m.distance_before > 0 and m.distance_after == 0


@pytest.mark.parametrize("family", list(FAMILIES))
def test_identical_networks_match_with_the_identity(family):
    spec = FAMILIES[family]
    a = init_vector(spec, 5)
    m = match_weights(spec, a, a.clone())
    assert m.is_identity and m.iterations == 1
    assert all(f == 1.0 for f in m.identity_fraction.values())
    assert torch.equal(m.aligned, a)


def test_independent_random_networks_are_not_identity_matched():
    spec = FAMILIES["siren"]
    a, b = init_vector(spec, 1), init_vector(spec, 2)
    m = match_weights(spec, a, b)
    assert not m.is_identity
    assert m.distance_after < m.distance_before
    x = torch.rand(10, 2)
    assert torch.allclose(forward(spec, m.aligned[None], x), forward(spec, b[None], x), atol=1e-5)


def _fit(images: torch.Tensor, mode: str, init_seed: int, fit_seed: int) -> torch.Tensor:
    cfg = dataclasses.replace(DIGIT_FIT, points_per_step=32)          # subsampling: fits differ by seed
    theta0 = init_batch(DIGIT_SPEC, images.shape[0], mode=mode, seed=init_seed)
    return fit_chunk(DIGIT_SPEC, theta0, FitTargets(image_coords(8, 8), images), cfg, seed=fit_seed)[0]


def test_paper000_shared_init_is_linearly_connected_and_identity_matched():
    """Zama Ramirez et al. 2024 §VIII / Fig. 25: two fits of one signal from the same init are linearly mode
    connected and weight matching returns the identity; from different inits neither holds."""
    images, _ = load_digit_images()
    images = images[:4]
    x = image_coords(8, 8)
    sa, sb = _fit(images, "shared", 0, 1), _fit(images, "shared", 0, 2)
    ra, rb = _fit(images, "random", 1, 1), _fit(images, "random", 2, 2)
    for k in range(4):
        shared = linear_connectivity(DIGIT_SPEC, sa[k], sb[k], x, images[k])
        rand = linear_connectivity(DIGIT_SPEC, ra[k], rb[k], x, images[k])
        assert shared.barrier < 0.1 * rand.barrier, (shared.barrier, rand.barrier)
        assert match_weights(DIGIT_SPEC, sa[k], sb[k]).is_identity
        assert not match_weights(DIGIT_SPEC, ra[k], rb[k]).is_identity


def test_connectivity_curve_endpoints_are_the_losses_of_the_two_nfs():
    spec = FAMILIES["siren"]
    a, b = init_vector(spec, 1), init_vector(spec, 2)
    x = torch.rand(64, 2) * 2 - 1
    y = torch.rand(64, 2)
    curve = linear_connectivity(spec, a, b, x, y, loss="mse", steps=5, chunk_points=16)
    la = per_nf_loss(forward(spec, a[None], x), y[None], "mse")[0]
    lb = per_nf_loss(forward(spec, b[None], x), y[None], "mse")[0]
    assert curve.alphas.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert curve.losses[0] == pytest.approx(float(la), rel=1e-6)
    assert curve.losses[-1] == pytest.approx(float(lb), rel=1e-6)
    mid = per_nf_loss(forward(spec, (0.5 * a + 0.5 * b)[None], x), y[None], "mse")[0]
    assert curve.losses[2] == pytest.approx(float(mid), rel=1e-5)
    flat = linear_connectivity(spec, a, a, x, y, steps=3)
    assert torch.allclose(flat.losses, flat.losses[0].expand(3)) and abs(flat.barrier) < 1e-6
    bce = linear_connectivity(spec, a, b, x, y, loss="bce", alphas=[0.0, 1.0])
    assert bce.losses[0] == pytest.approx(float(per_nf_loss(forward(spec, a[None], x), y[None], "bce")[0]), rel=1e-6)


def test_barrier_is_the_excess_over_the_endpoint_line():
    curve = ConnectivityCurve(alphas=torch.tensor([0.0, 0.5, 1.0]), losses=torch.tensor([1.0, 4.0, 3.0]))
    assert curve.barrier == pytest.approx(2.0)


def test_errors_name_the_problem():
    spec = FAMILIES["siren"]
    a = init_vector(spec, 0)
    with pytest.raises(BadInputError, match="theta_b"):
        match_weights(spec, a, a[:-1])
    with pytest.raises(BadInputError, match="not a permutation"):
        permute_vector(spec, a, {"hidden1": torch.zeros(16, dtype=torch.long)})
    with pytest.raises(BadInputError, match="unknown group"):
        permute_vector(spec, a, {"hidden9": torch.arange(16)})
    with pytest.raises(BadInputError, match="coords"):
        linear_connectivity(spec, a, a, torch.rand(10, 3), torch.rand(10, 2))
    with pytest.raises(ConfigError, match="unknown loss"):
        linear_connectivity(spec, a, a, torch.rand(10, 2), torch.rand(10, 2), loss="huber")

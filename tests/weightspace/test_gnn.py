"""Graph classifier: paper sizes, permutation invariance, learning digit NFs."""
from __future__ import annotations

import pytest
import torch

from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.nf.init import init_batch
from nf2vec_core.nf.layout import ArchSpec
from nf2vec_core.weightspace.connectivity import permute_vector, random_permutations
from nf2vec_core.weightspace.gnn import GNNClassifier, GNNConfig
from nf2vec_core.weightspace.train import TrainConfig, build_classifier, fit_and_evaluate

SMALL = GNNConfig(hidden=16, steps=2, node_mlp_hidden=32, edge_mlp_hidden=32, readout_hidden=32)


def test_default_sizes_are_the_papers():
    spec = ArchSpec("siren", in_dim=2, out_dim=1, hidden=8, depth=2)
    m = GNNClassifier(spec, 10)
    assert len(m.steps) == 4 and m.node_in.out_features == 64 and m.edge_in.out_features == 64
    step = m.steps[0]
    node_linears = [l for l in step.node_mlp if isinstance(l, torch.nn.Linear)]
    assert [l.out_features for l in node_linears] == [256, 256, 64]
    edge_linears = [step.edge_self] + [l for l in step.edge_rest.modules() if isinstance(l, torch.nn.Linear)]
    assert [l.out_features for l in edge_linears] == [256, 64]
    assert step.edge_src.in_features == 64 and step.edge_dst.out_features == 256


@pytest.mark.parametrize("family", ["siren", "rffnet", "mfn"])
def test_logits_are_invariant_to_hidden_neuron_permutations(family):
    spec = ArchSpec(family, in_dim=2, out_dim=3, hidden=8, depth=3, rff_features=5)
    theta = init_batch(spec, 6, mode="random", seed=0)
    model = build_classifier("gnn", spec, 4, gnn=SMALL, seed=1).eval()
    model.fit_input_stats(init_batch(spec, 20, mode="random", seed=5))
    permuted = permute_vector(spec, theta, random_permutations(spec, seed=7))
    assert not torch.allclose(theta, permuted)
    with torch.no_grad():
        a, b = model(theta), model(permuted)
    assert torch.allclose(a, b, atol=1e-5), (a - b).abs().max()
    # a change that is not a symmetry (rows of the first layer moved, next layer's columns not)
    broken = theta.clone()
    w = spec.tensor("l0.weight") if family != "mfn" else spec.tensor("filter0.weight")
    rows = broken[:, w.offset:w.stop].view(6, *w.shape)
    broken[:, w.offset:w.stop] = rows[:, torch.roll(torch.arange(w.shape[0]), 1)].reshape(6, -1)
    with torch.no_grad():
        assert not torch.allclose(model(broken), a, atol=1e-3)


def test_input_standardisation_uses_per_layer_statistics():
    spec = ArchSpec("siren", in_dim=2, out_dim=1, hidden=8, depth=2)
    model = GNNClassifier(spec, 2, SMALL)
    theta = init_batch(spec, 50, mode="random", seed=0)
    model.fit_input_stats(theta)
    w1 = spec.tensor("l1.weight")
    vals = theta[:, w1.offset:w1.stop]
    group = model.layout.edge_param.ge(w1.offset) & model.layout.edge_param.lt(w1.stop)
    assert torch.allclose(model.edge_shift[group], vals.double().mean().float().expand(int(group.sum())))
    assert torch.allclose(model.edge_inv_scale[group], (1 / vals.double().std(unbiased=False)).float().expand(int(group.sum())))
    unnormalised = GNNClassifier(spec, 2, GNNConfig(hidden=16, steps=1, normalize=False))
    unnormalised.fit_input_stats(theta)
    assert unnormalised.edge_shift.abs().sum() == 0 and torch.all(unnormalised.edge_inv_scale == 1)


def test_gnn_learns_digit_nfs(digit_nfs):
    model = build_classifier("gnn", digit_nfs.spec, 2, gnn=SMALL, seed=0)
    run = fit_and_evaluate(model, digit_nfs.split("train"), digit_nfs.split("val"), digit_nfs.split("test"),
                           TrainConfig(lr=1e-2, epochs=12, batch_size=16, seed=0), device="cpu", progress=False)
    assert run.accuracy > 0.9, run.history
    assert set(run.per_class_accuracy) == {"0", "1"}


def test_gnn_config_and_input_errors():
    with pytest.raises(ConfigError, match="weightspace.gnn.hidden"):
        GNNConfig(hidden=0)
    with pytest.raises(ConfigError, match="weightspace.gnn.aggregation"):
        GNNConfig(aggregation="median")  # type: ignore[arg-type]
    spec = ArchSpec("siren", in_dim=2, out_dim=1, hidden=8, depth=2)
    with pytest.raises(ConfigError, match="2 classes"):
        GNNClassifier(spec, 1, SMALL)
    with pytest.raises(BadInputError, match=str(spec.num_params)):
        GNNClassifier(spec, 2, SMALL)(torch.zeros(3, spec.num_params - 1))

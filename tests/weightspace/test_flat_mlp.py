"""Flat-weights MLP classifier: standardisation, (lack of) invariance, learning digit NFs."""
from __future__ import annotations

import pytest
import torch

from nf2vec_core.errors import BadInputError, ConfigError
from nf2vec_core.nf.init import init_batch
from nf2vec_core.nf.layout import ArchSpec
from nf2vec_core.weightspace.connectivity import permute_vector, random_permutations
from nf2vec_core.weightspace.mlp import FlatMLPClassifier, FlatMLPConfig
from nf2vec_core.weightspace.train import TrainConfig, build_classifier, fit_and_evaluate

SPEC = ArchSpec("rffnet", in_dim=2, out_dim=1, hidden=8, depth=2, rff_features=4)


def test_standardisation_uses_train_statistics_and_ignores_constant_coordinates():
    theta = init_batch(SPEC, 40, mode="random", seed=0)
    fourier = SPEC.tensor("fourier.weight")
    theta[:, fourier.offset:fourier.stop] = 0.7                     # frozen, shared: constant
    model = FlatMLPClassifier(SPEC, 3, FlatMLPConfig(hidden=(16,), dropout=0.0))
    model.fit_input_stats(theta)
    z = (theta - model.shift) * model.inv_scale
    trainable = torch.ones(SPEC.num_params, dtype=torch.bool)
    trainable[fourier.offset:fourier.stop] = False
    assert torch.allclose(z[:, trainable].mean(0), torch.zeros(int(trainable.sum())), atol=1e-5)
    assert torch.allclose(z[:, trainable].std(0, unbiased=False), torch.ones(int(trainable.sum())), atol=1e-4)
    assert torch.all(z[:, ~trainable] == 0) and torch.all(model.inv_scale[~trainable] == 1)
    plain = FlatMLPClassifier(SPEC, 3, FlatMLPConfig(hidden=(16,), standardize=False))
    plain.fit_input_stats(theta)
    assert plain.shift.abs().sum() == 0


def test_flat_mlp_is_not_permutation_invariant():
    theta = init_batch(SPEC, 4, mode="random", seed=1)
    model = build_classifier("mlp", SPEC, 2, mlp=FlatMLPConfig(hidden=(16,)), seed=0).eval()
    permuted = permute_vector(SPEC, theta, random_permutations(SPEC, seed=3))
    with torch.no_grad():
        assert not torch.allclose(model(theta), model(permuted), atol=1e-4)


def test_flat_mlp_learns_digit_nfs(digit_nfs):
    model = build_classifier("mlp", digit_nfs.spec, 2, mlp=FlatMLPConfig(hidden=(64,), dropout=0.1), seed=0)
    run = fit_and_evaluate(model, digit_nfs.split("train"), digit_nfs.split("val"), digit_nfs.split("test"),
                           TrainConfig(lr=3e-3, epochs=10, batch_size=16, seed=0), device="cpu", progress=False)
    assert run.accuracy > 0.9, run.history
    assert run.confusion.sum() == digit_nfs.test.numel()


def test_flat_mlp_errors():
    with pytest.raises(ConfigError, match="weightspace.mlp.hidden"):
        FlatMLPConfig(hidden=(8, 0))
    with pytest.raises(ConfigError, match="weightspace.mlp.dropout"):
        FlatMLPConfig(dropout=1.0)
    with pytest.raises(BadInputError, match=str(SPEC.num_params)):
        FlatMLPClassifier(SPEC, 2)(torch.zeros(2, 5))

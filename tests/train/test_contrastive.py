"""SigLIP between two batches of paired embeddings (train/contrastive.py): known answers at the
papers' initial scale and bias, normalisation, and learnable parameters."""
from __future__ import annotations

import math

import pytest
import torch

from nf2vec_core.train.contrastive import SigLIPLoss


def test_initial_scale_and_bias_are_log10_and_minus10():
    loss = SigLIPLoss()
    assert float(loss.log_scale.detach()) == pytest.approx(math.log(10.0)) and float(loss.bias.detach()) == -10.0


@torch.no_grad()
def test_known_answers():
    loss = SigLIPLoss()
    eye = torch.eye(2)
    # pairs aligned, negatives orthogonal: logits 10 * 1 - 10 = 0 on the pairs, -10 off them
    expected = (2 * math.log(2.0) + 2 * math.log1p(math.exp(-10.0))) / 2
    assert float(loss(eye, eye)) == pytest.approx(expected, rel=1e-6)
    # one pair, orthogonal: logit -10 on a positive
    assert float(loss(eye[:1], eye[1:])) == pytest.approx(math.log1p(math.exp(10.0)), rel=1e-6)
    # lengths do not matter (L2-normalised), the order of the pairs does
    x = torch.tensor([[3.0, 0.0], [0.0, 0.5]])
    assert float(loss(x, eye)) == pytest.approx(expected, rel=1e-6)
    assert float(loss(eye, eye.flip(0))) > float(loss(eye, eye))


def test_gradients_reach_the_embeddings_scale_and_bias():
    loss = SigLIPLoss()
    x = torch.randn(4, 8, requires_grad=True)
    loss(x, torch.randn(4, 8)).backward()
    assert x.grad is not None and loss.log_scale.grad is not None and loss.bias.grad is not None
    with pytest.raises(ValueError, match="same shape"):
        loss(torch.zeros(3, 8), torch.zeros(4, 8))

"""Field losses and raw-output -> field-value maps by field kind."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from nf2vec_core.errors import ConfigError
from nf2vec_core.fields.kinds import field_prediction
from nf2vec_core.train.losses import LossConfig, field_loss, sigmoid_focal_loss, siglip_loss


def _targets(kind: str, g: torch.Generator) -> torch.Tensor:
    u = torch.rand(64, 1, generator=g)
    return {"udf": u * 0.2, "sdf": u * 0.3 - 0.15, "occupancy": (u > 0.5).float(), "pixels": u}[kind]


@pytest.mark.parametrize("kind,occ", [("udf", "bce"), ("sdf", "bce"), ("occupancy", "bce"),
                                      ("occupancy", "focal"), ("pixels", "bce")])
def test_each_loss_decreases_on_a_toy_fit(kind: str, occ: str) -> None:
    cfg = LossConfig(clip=0.1, occupancy_loss=occ)
    target = _targets(kind, torch.Generator().manual_seed(0))
    raw = torch.zeros_like(target, requires_grad=True)
    opt = torch.optim.Adam([raw], lr=0.05)
    first = field_loss(kind, raw, target, cfg).item()
    for _ in range(150):
        opt.zero_grad()
        loss = field_loss(kind, raw, target, cfg)
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first or loss.item() < 1e-3
    pred = field_prediction(kind, raw.detach(), cfg.clip)
    if kind == "udf":  # predictions approach the CLIPPED distance
        assert (pred - target.clamp(0, 0.1)).abs().max() < 0.02
    elif kind == "occupancy":
        assert ((pred > 0.5).float() == target).all()
    elif kind == "sdf":
        err = (pred.clamp(-0.1, 0.1) - target.clamp(-0.1, 0.1)).abs()
        assert err.mean() < 0.01 and err.max() < 0.05


def test_conventions() -> None:
    raw = torch.tensor([[-20.0], [0.0], [20.0]])
    # UDF target normalised by the clip: BCE against udf/clip, values beyond clip saturate at 1
    t = torch.tensor([[0.05], [0.3]])
    expect = F.binary_cross_entropy_with_logits(raw[:2], torch.tensor([[0.5], [1.0]]))
    torch.testing.assert_close(field_loss("udf", raw[:2], t), expect)
    # SDF: L1 with both sides clipped -> a far-away correct sign costs nothing ...
    assert field_loss("sdf", torch.tensor([[0.5]]), torch.tensor([[0.9]])).item() == 0.0
    # ... and an overshoot of an in-band target still has a gradient (unlike a plain clamp)
    p = torch.tensor([[0.5], [-0.5]], requires_grad=True)
    loss = field_loss("sdf", p, torch.tensor([[0.05], [-0.9]]))
    loss.backward()
    assert abs(loss.item() - 0.45 / 2) < 1e-6 and p.grad[0, 0] > 0 and p.grad[1, 0] == 0


def test_focal_downweights_easy_examples() -> None:
    logits = torch.tensor([4.0, -4.0, 0.0])
    target = torch.tensor([1.0, 0.0, 1.0])
    focal = torch.stack([sigmoid_focal_loss(logits[i:i + 1], target[i:i + 1], alpha=-1) for i in range(3)])
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    assert (focal <= bce).all() and focal[0] < 0.01 * bce[0] and focal[2] > 0.2 * bce[2]


def test_errors() -> None:
    with pytest.raises(ConfigError):
        field_loss("nerf", torch.zeros(1), torch.zeros(1))
    with pytest.raises(ValueError):
        field_loss("sdf", torch.zeros(2, 1), torch.zeros(3, 1))
    with pytest.raises(ConfigError):
        LossConfig(occupancy_loss="dice")


def test_siglip_loss_matches_the_pairwise_definition_and_rewards_matching_pairs() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 5, generator=g) * 3
    ref = 0.0
    for i in range(5):  # SigLIP (Zhai et al. 2023): -1/B sum_ij log sigmoid(z_ij * l_ij), z = +1 iff i == j
        for j in range(5):
            z = 1.0 if i == j else -1.0
            ref -= float(F.logsigmoid(torch.tensor(z * float(logits[i, j]))))
    assert float(siglip_loss(logits)) == pytest.approx(ref / 5, rel=1e-6)
    p = F.normalize(torch.randn(8, 16, generator=g), dim=-1)
    matched = siglip_loss(p @ p.T * 10.0 - 5.0)                      # each view closest to its own pair
    shuffled = siglip_loss(p @ p.roll(1, 0).T * 10.0 - 5.0)
    assert float(matched) < float(shuffled)
    with pytest.raises(ValueError):
        siglip_loss(torch.zeros(3, 4))

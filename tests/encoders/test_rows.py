"""RowEncoder over stacked NF rows (Zama Ramirez et al. 2024 §III, Fig. 2)."""
from __future__ import annotations

import pytest
import torch

from nf2vec_core.errors import ConfigError
from nf2vec_core.encoders.rows import RowEncoder, RowEncoderConfig, encode
from nf2vec_core.nf.functional import stack_rows
from nf2vec_core.nf.init import init_batch
from nf2vec_core.nf.layout import ArchSpec

SPEC = ArchSpec(family="siren", depth=3, hidden=32)
SMALL = RowEncoderConfig(hidden=(32, 32, 64, 64), embed_dim=48)


def _theta(n: int = 6) -> torch.Tensor:
    return init_batch(SPEC, n, mode="random", seed=3)


def test_shapes_on_siren_3x32() -> None:
    enc = RowEncoder(SPEC.hidden, SMALL)
    rows = enc.rows(SPEC, _theta())
    assert rows.shape == (6, 2 * 33, 32)  # l1, l2 hidden layers, input/output dropped
    assert enc(rows).shape == (6, 48)
    full = RowEncoder(SPEC.hidden, RowEncoderConfig(hidden=(16,), embed_dim=8, include_input=True,
                                                   include_output=True))
    rows_full = full.rows(SPEC, _theta())
    assert rows_full.shape == (6, 4 + 2 * 33 + 33, 32)
    assert full(rows_full).shape == (6, 8)


def test_rows_are_a_set_max_pool() -> None:
    enc = RowEncoder(SPEC.hidden, SMALL).eval()
    rows = stack_rows(SPEC, _theta())
    perm = torch.randperm(rows.shape[1], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(enc(rows), enc(rows[:, perm]))
        # different NFs give different embeddings
        e = enc(rows)
    assert (e[0] - e[1]).abs().max() > 1e-4


def test_paper_layer_widths_and_table1_size() -> None:
    cfg = RowEncoderConfig()
    assert cfg.widths == (512, 512, 1024, 1024, 1024)
    n512 = sum(p.numel() for p in RowEncoder(512, cfg).parameters())
    n1024 = sum(p.numel() for p in RowEncoder(1024, cfg).parameters())
    assert 2.9e6 < n512 < 3.3e6 and 3.3e6 < n1024 < 3.6e6  # Table I: ~3M and ~3.5M


def test_encode_batched_matches_full_and_restores_mode() -> None:
    torch.manual_seed(0)
    enc = RowEncoder(SPEC.hidden, SMALL)
    theta = _theta(7)
    enc.train()
    enc(enc.rows(SPEC, theta))  # move BN running stats away from the defaults
    out = encode(enc, SPEC, theta, batch_size=3)
    assert enc.training
    enc.eval()
    with torch.no_grad():
        ref = enc(enc.rows(SPEC, theta))
    torch.testing.assert_close(out, ref)
    assert encode(enc, SPEC, theta[:0], batch_size=3).shape == (0, 48)


def test_bad_inputs() -> None:
    enc = RowEncoder(SPEC.hidden, SMALL)
    with pytest.raises(ValueError):
        enc(torch.zeros(2, 5, 16))
    with pytest.raises(ConfigError):
        RowEncoderConfig(hidden=(0,))


def test_row_positions_break_row_symmetry_and_round_trip() -> None:
    from nf2vec_core.encoders.rows import num_rows
    from nf2vec_core.train.checkpoint import build_models

    cfg = RowEncoderConfig(hidden=(16, 16), embed_dim=12, include_input=True, row_positions=True)
    s = num_rows(SPEC, cfg)
    assert s == 4 + 2 * 33
    enc = RowEncoder(SPEC.hidden, cfg, num_rows=s)
    with torch.no_grad():
        enc.row_embedding.normal_(0, 1.0, generator=torch.Generator().manual_seed(1))
    enc.eval()
    rows = enc.rows(SPEC, _theta())
    perm = torch.randperm(s, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert not torch.allclose(enc(rows), enc(rows[:, perm]))   # row identity now matters
    with pytest.raises(ValueError):
        enc(rows[:, :-1])
    with pytest.raises(ConfigError):
        RowEncoder(SPEC.hidden, cfg)                                  # needs num_rows
    meta = {"encoder": cfg.to_dict(), "decoder": {"hidden": 8, "layers": 2}, "in_features": 32,
            "num_rows": s, "in_dim": 3, "out_dim": 1}
    e2, _ = build_models(meta)
    assert e2.row_embedding.shape == (s, 16)

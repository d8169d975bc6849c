"""Implicit decoder: positional encoding, skip connection, many queries per embedding."""
from __future__ import annotations

import math

import pytest
import torch

from nf2vec_core.decoders.implicit import ImplicitDecoder, ImplicitDecoderConfig, positional_encoding


def test_positional_encoding_values() -> None:
    x = torch.tensor([[0.25, -0.5, 1.0]])
    pe = positional_encoding(x, 2)
    assert pe.shape == (1, 3 * 5)
    torch.testing.assert_close(pe[0, :3], x[0])
    # sin(2^1 * pi * 0.25) = 1 for coordinate 0, frequency 1 (layout: [x, sin(d*F), cos(d*F)])
    assert math.isclose(pe[0, 3 + 1].item(), 1.0, abs_tol=1e-6)
    assert positional_encoding(x, 0) is x


def test_shapes_and_shared_queries() -> None:
    torch.manual_seed(0)
    dec = ImplicitDecoder(16, in_dim=3, out_dim=2, cfg=ImplicitDecoderConfig(hidden=32, layers=5, pe_freqs=4))
    emb, x = torch.randn(4, 16), torch.rand(4, 100, 3)
    out = dec(emb, x)
    assert out.shape == (4, 100, 2)
    shared = dec(emb, x[0])  # [M, d] shared by every embedding
    torch.testing.assert_close(shared[0], out[0])
    # equals a plain MLP over concat[PE(x), emb] at the first layer
    blk = dec.blocks[0]
    pe = positional_encoding(x, 4)
    w = torch.cat([blk.lin.weight, blk.emb.weight], dim=1)
    ref = torch.cat([pe, emb[:, None].expand(-1, 100, -1)], dim=-1) @ w.T + blk.lin.bias
    torch.testing.assert_close(blk(pe, emb), ref, rtol=1e-5, atol=1e-5)


def test_skip_connection() -> None:
    skip = ImplicitDecoder(8, cfg=ImplicitDecoderConfig(hidden=16, layers=5, pe_freqs=2, skip=True))
    plain = ImplicitDecoder(8, cfg=ImplicitDecoderConfig(hidden=16, layers=5, pe_freqs=2, skip=False))
    assert skip.skip_at == 2 and plain.skip_at == -1
    in_pe = 3 * 5
    assert skip.blocks[2].lin.in_features == 16 + in_pe
    assert isinstance(plain.blocks[2], torch.nn.Linear) and plain.blocks[2].in_features == 16
    # the input reaches the output through the skip even when earlier layers are dead
    with torch.no_grad():
        skip.blocks[1].weight.zero_()
        skip.blocks[1].bias.fill_(-1.0)
    emb = torch.randn(2, 8)
    out = skip(emb, torch.rand(2, 50, 3))
    assert out.std() > 0


def test_bad_shapes() -> None:
    dec = ImplicitDecoder(8, cfg=ImplicitDecoderConfig(hidden=16, layers=2))
    with pytest.raises(ValueError):
        dec(torch.randn(2, 7), torch.rand(2, 5, 3))
    with pytest.raises(ValueError):
        dec(torch.randn(2, 8), torch.rand(3, 5, 3))

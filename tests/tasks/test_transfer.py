"""The transfer MLP between embedding spaces (tasks.transfer)."""
from __future__ import annotations

import torch

from nf2vec_core.tasks.transfer import TransferParams, train_transfer


def test_the_transfer_learns_a_map_between_spaces_and_is_repeatable():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(8, 4, generator=g) / 3
    src, val_src = torch.randn(128, 8, generator=g), torch.randn(32, 8, generator=g)
    dst, val_dst = src @ a, val_src @ a
    p = TransferParams(hidden=(32,), epochs=100, lr=1e-2, seed=0)
    net, hist = train_transfer(src, dst, val_src, val_dst, p, progress=False)
    assert len(hist["val_loss"]) == 100
    with torch.no_grad():
        err = float((net(val_src) - val_dst).pow(2).sum(-1).mean())
    assert err == min(hist["val_loss"]) < 0.2 * float(val_dst.pow(2).sum(-1).mean())   # best epoch kept
    again, _ = train_transfer(src, dst, val_src, val_dst, p, progress=False)
    with torch.no_grad():
        assert torch.equal(again(val_src), net(val_src))

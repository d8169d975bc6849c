"""A transfer network between two embedding spaces (paper 000 Fig. 16): an MLP that maps an nf2vec
embedding of one kind of NF to the embedding of another (shape -> NeRF; partial shape -> complete
shape), trained on pairs of the same objects with the (summed) squared error."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn
from tqdm import tqdm

__all__ = ["TransferParams", "transfer_net", "train_transfer"]


@dataclass(frozen=True)
class TransferParams:
    """A ``transfer`` section: the MLP between embedding spaces and its full-batch training."""

    hidden: tuple[int, ...] = (512, 512)
    epochs: int = 300
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0


def transfer_net(d_in: int, d_out: int, hidden: Sequence[int]) -> nn.Module:
    """Linear + BatchNorm + ReLU per hidden width, then a linear layer to ``d_out``."""
    layers: list[nn.Module] = []
    c = d_in
    for h in hidden:
        layers += [nn.Linear(c, h), nn.BatchNorm1d(h), nn.ReLU(inplace=True)]
        c = h
    return nn.Sequential(*layers, nn.Linear(c, d_out))


def train_transfer(src: torch.Tensor, dst: torch.Tensor, val_src: torch.Tensor, val_dst: torch.Tensor,
                   p: TransferParams, progress: bool = True,
                   desc: str = "transfer embeddings") -> tuple[nn.Module, dict[str, list[float]]]:
    """Full-batch AdamW on the L2 loss between mapped and target embeddings; best on validation."""
    torch.manual_seed(p.seed)
    net = transfer_net(src.shape[1], dst.shape[1], p.hidden)
    opt = torch.optim.AdamW(net.parameters(), lr=p.lr, weight_decay=p.weight_decay)
    hist: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
    best, best_loss = copy.deepcopy(net.state_dict()), float("inf")
    for _ in tqdm(range(p.epochs), desc=desc, unit="epoch", disable=not progress):
        net.train()
        loss = (net(src) - dst).pow(2).sum(-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        net.eval()
        with torch.no_grad():
            vl = float((net(val_src) - val_dst).pow(2).sum(-1).mean())
        hist["train_loss"].append(float(loss.detach()))
        hist["val_loss"].append(vl)
        if vl < best_loss:
            best_loss, best = vl, copy.deepcopy(net.state_dict())
    net.load_state_dict(best)
    return net.eval(), hist

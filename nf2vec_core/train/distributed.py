"""Data-parallel helpers: process group set-up under ``torchrun``, item sharding, reductions.

Launched with ``torchrun --nproc_per_node N ...`` the environment holds ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`init_distributed` then joins the group
(``nccl`` on CUDA, one GPU per local rank; ``gloo`` on CPU). Without those variables everything is
single-process and the helpers are no-ops, so the same training code runs both ways.
"""
from __future__ import annotations

import os

import torch
import torch.distributed as dist

from ..runtime import pick_device


def is_distributed() -> bool:
    """True inside an initialised process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def get_world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def is_main_process() -> bool:
    """Rank 0 (or no process group): the process that writes checkpoints, logs and history."""
    return get_rank() == 0


def init_distributed(device: torch.device | str | None = None) -> tuple[int, int, torch.device]:
    """Join the process group described by the environment; returns ``(rank, world, device)``.

    Without ``RANK``/``WORLD_SIZE`` in the environment: ``(0, 1, device or cuda-if-available)``.
    Under ``torchrun`` on CUDA the device is ``cuda:LOCAL_RANK`` (set as current device); on CPU it
    is ``cpu`` with the gloo backend. Calling it again in an initialised group just reports it.
    """
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return 0, 1, pick_device(device)
    use_cuda = torch.cuda.is_available() and (device is None or torch.device(device).type == "cuda")
    local_rank = int(os.environ.get("LOCAL_RANK", os.environ["RANK"]))
    if use_cuda:
        dev = torch.device("cuda", local_rank % torch.cuda.device_count())
        torch.cuda.set_device(dev)
    else:
        dev = torch.device("cpu")
    if not dist.is_initialized():
        backend = "nccl" if use_cuda else "gloo"
        kwargs = {"device_id": dev} if use_cuda else {}
        dist.init_process_group(backend=backend, init_method="env://", **kwargs)
    return dist.get_rank(), dist.get_world_size(), dev


def cleanup() -> None:
    """Leave and destroy the process group (no-op without one)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def shard_indices(n: int, rank: int, world: int, *, seed: int, epoch: int,
                  shuffle: bool = True) -> torch.Tensor:
    """This rank's item indices for one epoch (like ``DistributedSampler``), deterministic.

    A permutation of ``range(n)`` seeded by ``(seed, epoch)`` (identity when ``shuffle=False``) is
    padded by wrapping around to a multiple of ``world`` and strided by rank, so every rank gets
    the same number of items and together they cover all ``n``.
    """
    if n < 1:
        return torch.zeros(0, dtype=torch.long)
    if shuffle:
        g = torch.Generator().manual_seed(int(seed) * 100_003 + int(epoch))
        order = torch.randperm(n, generator=g)
    else:
        order = torch.arange(n)
    total = -(-n // world) * world
    if total > n:
        order = torch.cat([order, order.repeat(-(-(total - n) // n))[: total - n]])
    return order[rank::world]


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum of ``t`` over ranks (``t`` itself when single-process); returns a new tensor."""
    out = t.clone()
    if is_distributed():
        dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out


def broadcast_buffers(module: torch.nn.Module, src: int = 0) -> None:
    """Copy rank ``src``'s buffers (e.g. BatchNorm running stats) to every rank."""
    if is_distributed():
        for b in module.buffers():
            dist.broadcast(b.data, src)

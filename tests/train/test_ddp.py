"""Distributed training: sharding helpers, and a real 2-process gloo run under torchrun (CPU)."""
from __future__ import annotations

import importlib.util
import inspect
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import torch

from nf2vec_core.train import distributed as D
from nf2vec_core.train.checkpoint import load_model

REPO = Path(__file__).resolve().parents[2]


def _load_make_toy():
    """``make_toy`` of the sibling trainer tests, loaded by path (no reliance on sys.path)."""
    spec = importlib.util.spec_from_file_location("_nf2vec_trainer_tests", Path(__file__).with_name("test_trainer.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.make_toy


def test_single_process_defaults() -> None:
    env_has = "RANK" in os.environ
    if not env_has:
        rank, world, dev = D.init_distributed("cpu")
        assert (rank, world, dev.type) == (0, 1, "cpu")
    assert D.is_main_process() and not D.is_distributed()
    t = torch.tensor([1.0, 2.0])
    assert torch.equal(D.all_reduce_sum(t), t)


def test_shard_indices_cover_all_items_evenly() -> None:
    shards = [D.shard_indices(11, r, 3, seed=5, epoch=2) for r in range(3)]
    assert all(len(s) == 4 for s in shards)
    assert set(torch.cat(shards).tolist()) == set(range(11))
    assert torch.equal(shards[1], D.shard_indices(11, 1, 3, seed=5, epoch=2))  # deterministic
    assert not torch.equal(torch.cat(shards), torch.cat([D.shard_indices(11, r, 3, seed=5, epoch=3)
                                                         for r in range(3)]))  # reshuffled per epoch
    assert D.shard_indices(4, 0, 1, seed=0, epoch=0, shuffle=False).tolist() == [0, 1, 2, 3]


SCRIPT = """
import os, sys, json
from pathlib import Path
import torch
{make_toy}
from nf2vec_core.decoders.implicit import ImplicitDecoderConfig
from nf2vec_core.encoders.rows import RowEncoderConfig
from nf2vec_core.train import distributed as D
from nf2vec_core.train.trainer import TrainConfig, train_nf2vec

out = Path(sys.argv[1])
spec, train = make_toy(12, m=128, seed=0)
_, val = make_toy(5, m=128, seed=1)
steps = []
cfg = TrainConfig(epochs=2, batch_size=2, lr=1e-3, queries_per_item=64, seed=0, log_every=1)
res = train_nf2vec(train, val, spec, "udf", RowEncoderConfig(hidden=(16,), embed_dim=16),
                   ImplicitDecoderConfig(hidden=16, layers=3, pe_freqs=2), cfg, out / "run",
                   on_epoch_end=lambda e, r: steps.append((D.get_rank(), D.get_world_size(), r["train_loss"])))
(out / f"rank{{os.environ['RANK']}}.json").write_text(json.dumps({{"steps": steps, "best": res["best_val_loss"]}}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_process_gloo_training_writes_one_checkpoint(tmp_path: Path) -> None:
    script = tmp_path / "ddp_run.py"
    script.write_text(SCRIPT.format(make_toy=textwrap.dedent(inspect.getsource(_load_make_toy()))))
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(_free_port()), str(script), str(tmp_path)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-4000:]
    import json

    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
    assert [s[:2] for s in r0["steps"]] == [[0, 2], [0, 2]] and [s[:2] for s in r1["steps"]] == [[1, 2], [1, 2]]
    # losses are all-reduced: both ranks log the same values
    assert [s[2] for s in r0["steps"]] == [s[2] for s in r1["steps"]] and r0["best"] == r1["best"]
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == ["best.safetensors", "history.csv", "last.safetensors", "timing.csv"]
    enc, dec, meta = load_model(run / "last.safetensors")
    assert meta["epoch"] == 2 and meta["in_dim"] == 3

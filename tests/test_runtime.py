"""nf2vec_core.runtime: allocator tuning, the ordered process pool and the device picker."""
from __future__ import annotations

import os

import pytest

from nf2vec_core.runtime import parallel_map, pick_device, tune_allocator, worker_count


def _square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def _threads(_: int) -> str:
    return os.environ.get("OMP_NUM_THREADS", "")


def test_pick_device(monkeypatch):
    import torch

    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device(torch.device("cpu")) == torch.device("cpu")
    assert pick_device("cuda:1") == torch.device("cuda", 1)   # named devices are taken as given
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == pick_device(None) == pick_device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device("auto") == pick_device(None) == torch.device("cuda")


def test_worker_count():
    assert worker_count(3) == 3
    assert worker_count(0) >= 1


def test_parallel_map_keeps_order_and_uses_processes():
    out = parallel_map(_square_and_pid, list(range(40)), workers=2)
    assert [v for v, _ in out] == [x * x for x in range(40)]
    assert len({pid for _, pid in out}) >= 1
    assert all(pid != os.getpid() for _, pid in out)  # ran in the pool
    assert set(parallel_map(_threads, [0, 1, 2, 3], workers=2)) == {"1"}


def test_parallel_map_serial_paths():
    assert parallel_map(_square_and_pid, [3], workers=4)[0][1] == os.getpid()  # one item: in process
    assert [v for v, _ in parallel_map(_square_and_pid, [1, 2], workers=1)] == [1, 4]
    assert parallel_map(_square_and_pid, [], workers=2) == []


def test_parallel_map_propagates_errors():
    with pytest.raises(ZeroDivisionError):
        parallel_map(_inverse, [1, 0, 2], workers=2)


def _inverse(x: int) -> float:
    return 1 / x


def test_tune_allocator_is_idempotent():
    assert tune_allocator() == tune_allocator()


def test_eval_chunk_keeps_calls_cache_sized_and_outputs_unchanged():
    from nf2vec_core.runtime import eval_chunk
    assert eval_chunk(16) == 1024 and eval_chunk(1) == 16384 and eval_chunk(10_000) == 64
    assert eval_chunk(16, cuda=True) == 65536
    import torch
    from nf2vec_core.fitting.engine import evaluate
    from nf2vec_core.nf.init import init_batch
    from nf2vec_core.nf.layout import ArchSpec
    spec = ArchSpec(depth=2, hidden=16)
    theta = init_batch(spec, 20, mode="random", seed=0)
    x = torch.rand(3000, 3) * 2 - 1
    default = evaluate(spec, theta, x)                      # chunks of 819 points
    assert torch.equal(default, evaluate(spec, theta, x, chunk_points=65536))


def test_workers_compile_in_process():
    """A forked worker does not inherit the parent's torch.compile thread pool: its compiles must
    not wait on it (they hung on a fresh kernel cache), so workers compile with one thread."""
    from nf2vec_core.runtime import process_pool
    with process_pool(2) as pool:
        assert pool.map(_compile_threads, [0, 1]) == [1, 1]


def _compile_threads(_):
    import torch._inductor.config as c
    return c.compile_threads


def test_torch_threads_sets_and_restores_the_count():
    import torch

    from nf2vec_core.runtime import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before

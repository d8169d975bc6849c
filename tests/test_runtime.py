"""nf2vec_core.runtime: allocator tuning and the ordered process pool."""
from __future__ import annotations

import os

import pytest

from nf2vec_core.runtime import parallel_map, tune_allocator, worker_count


def _square_and_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def _threads(_: int) -> str:
    return os.environ.get("OMP_NUM_THREADS", "")


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

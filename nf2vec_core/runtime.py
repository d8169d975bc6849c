"""Process-level tuning for the CPU hot paths, and a process pool for per-item preprocessing.

glibc returns large freed blocks (> 128 KiB by default, adaptively up to 32 MiB) straight to the
OS with ``munmap``/heap trimming, so a loop that allocates the same multi-megabyte activations
every step pays page faults on every allocation (measured: 3/4 of the fitting time as system time,
1.7x slower). :func:`tune_allocator` raises the mmap and trim thresholds so freed blocks are reused.

Evaluating many small fields at many points is memory-bound on CPU: :func:`eval_chunk` sizes the
point chunks so that the activations of one call stay in cache.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import multiprocessing as mp
import os
from typing import TYPE_CHECKING, Callable, Sequence, TypeVar

from tqdm.auto import tqdm

from .errors import ConfigError

if TYPE_CHECKING:  # torch is imported where it is used: params validation needs none of it
    import torch

T = TypeVar("T")
R = TypeVar("R")

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


@functools.lru_cache(maxsize=1)
def tune_allocator(threshold: int = 1 << 30) -> bool:
    """Keep freed blocks below ``threshold`` bytes in the heap (glibc only; no-op elsewhere)."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, threshold)) and bool(libc.mallopt(M_TRIM_THRESHOLD, threshold))
    except (OSError, AttributeError):
        return False


def check_device(name: str, key: str = "device") -> None:
    """ConfigError (naming param ``key``) when device ``name`` (auto, cpu, cuda, cuda:N, mps) is not
    present on this machine; ``auto`` and ``cpu`` always are."""
    if name in ("auto", "cpu"):
        return
    import torch

    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"param '{key}' asks for {name!r} but CUDA is not available here (use auto or cpu)")
        index = int(name.split(":", 1)[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"param '{key}' asks for {name!r} but this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
    elif name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError(f"param '{key}' asks for 'mps' but MPS is not available here (use auto or cpu)")


def pick_device(name: "str | torch.device | None" = "auto") -> "torch.device":
    """The torch device of a ``device`` param: ``auto`` (or None) is CUDA when present, else the
    CPU; any other name (``cpu``, ``cuda``, ``cuda:N``, ``mps``) or device as given."""
    import torch

    if name is None or name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


CPU_POINTS_IN_FLIGHT = 16384   # fields x points per forward call on CPU


def eval_chunk(n_fields: int, cuda: bool = False) -> int:
    """Points per forward call when ``n_fields`` fields are evaluated together at many points.

    On CPU about 16k (field, point) pairs per call, so a call's activations stay in cache and
    small (8 MiB for the width-128 decoder instead of 0.5 GiB at 65,536 points). Outputs are
    bit-identical to any other chunking. Side by side (``bench/eval_chunk.py``, 16 fields on the
    64^3 grid, 2 threads): SIREN 3x32 3.4x and the nf2vec decoder 1.4x faster than 65,536-point
    chunks with glibc's default allocator; about even (1.0x / 1.15x) after :func:`tune_allocator`.
    On CUDA, 65,536 points per call.
    """
    if cuda:
        return 65536
    return max(64, CPU_POINTS_IN_FLIGHT // max(1, int(n_fields)))


def worker_count(requested: int = 0) -> int:
    """Processes to use: ``requested`` when > 0, else the CPUs this process may run on."""
    if requested > 0:
        return int(requested)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def parallel_map(fn: Callable[[T], R], items: Sequence[T], workers: int = 0, *, desc: str = "",
                 unit: str = "item") -> list[R]:
    """``[fn(x) for x in items]`` over a process pool, in order, with a progress bar.

    ``fn`` must be a module-level function and the items picklable. One worker (or one item) runs
    in this process. Worker processes are forked where the platform allows it (no re-import) and
    limited to one OpenMP/BLAS thread each, so ``workers`` processes use ``workers`` cores.
    """
    n = min(worker_count(workers), len(items))
    with process_pool(n) as pool:
        if pool is None:
            return [fn(x) for x in tqdm(items, desc=desc, unit=unit)]
        return list(tqdm(pool.imap(fn, items, chunksize=max(1, min(8, len(items) // (4 * n)))),
                         total=len(items), desc=desc, unit=unit))


@contextlib.contextmanager
def process_pool(workers: int):
    """A pool of ``workers`` one-thread processes (forked where possible), or None for one worker:
    callers then run their jobs in this process (``pool.imap(fn, jobs) if pool else map(fn, jobs)``)."""
    if workers <= 1:
        yield None
        return
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with mp.get_context(method).Pool(workers, initializer=_single_thread) as pool:
        yield pool


def _single_thread() -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    # a forked worker inherits BLAS libraries already loaded with one thread per core: the
    # variables above no longer reach them. Two-thread OpenBLAS calls on small matrices in two
    # workers spin on each other's cores (preprocessing measured ~2x slower).
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)
    except ImportError:  # pragma: no cover - a scikit-learn dependency, normally present
        pass
    try:
        import torch
        torch.set_num_threads(1)
        # torch.compile in a forked worker: the parent's inductor compile pool (threads) is not
        # forked with it, and a compile that waits on it hangs for ever (seen on a fresh kernel
        # cache: tests/fitting/test_run.py after the compiled-SIREN tests). Compile in-process.
        import torch._inductor.config as inductor_config
        inductor_config.compile_threads = 1
    except Exception:  # noqa: BLE001 - torch is optional here
        pass


@contextlib.contextmanager
def torch_threads(n: int):
    """Run the block with ``n`` torch intra-op threads, then restore the previous count.

    A float result depends on how a BLAS call splits its sums over threads, and MKL may choose
    that split from the thread count and the machine's load. Small trainings whose exact numbers
    are reported (the embedding classifier) run on one thread so that reruns give the same bytes.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def hardware_summary() -> str:
    """One line naming the compute this process runs on (CPU model/threads or the CUDA device)."""
    import platform

    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = f"{cpu}, {torch.get_num_threads()} torch threads, torch {torch.__version__}"
    if torch.cuda.is_available():
        text += f", GPU {torch.cuda.get_device_name(0)}"
    return text

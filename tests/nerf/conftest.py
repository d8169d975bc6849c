"""Shared fixtures of the NeRF tests: nerfacc's kernel paths on CUDA, or with the kernels emulated
on the CPU (:mod:`_nerfacc_cpu`), so that those code paths are tested on every machine."""
from __future__ import annotations

import pytest
import torch

from _nerfacc_cpu import emulate


@pytest.fixture(params=["emulated", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="nerfacc's compiled kernels need CUDA"))])
def kernel_device(request, monkeypatch) -> torch.device:
    """The device of a test of nerfacc's kernel paths: ``cuda`` (the real kernels) or ``cpu`` with
    the kernels emulated (:func:`_nerfacc_cpu.emulate`)."""
    if request.param == "emulated":
        emulate(monkeypatch)
        return torch.device("cpu")
    return torch.device("cuda")

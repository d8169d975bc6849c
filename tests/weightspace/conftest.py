"""Fixtures of the weight-space tests (data helpers in ``ws_digits.py``)."""
from __future__ import annotations

import pytest
from ws_digits import DigitNFs, make_digit_nfs


@pytest.fixture(scope="session")
def digit_nfs() -> DigitNFs:
    """SIREN 2x8 NFs of all sklearn 8x8 digits 0 and 1, shared init, split 60/15/25."""
    return make_digit_nfs()

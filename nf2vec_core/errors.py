"""Errors raised on bad user input.

Every error names the offending file (or parameter) and the reason, so a user can fix the input
without reading a traceback. Dataset-level code catches :class:`BadInputError`, records the item in
a rejected-items report and goes on with the rest.
"""
from __future__ import annotations

from pathlib import Path


class BadInputError(ValueError):
    """An input file (or in-memory item) that cannot be used: unreadable, empty, degenerate, NaN."""

    def __init__(self, path: str | Path | None, reason: str):
        self.path = str(path) if path is not None else "<in-memory>"
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ConfigError(ValueError):
    """A missing, unknown or mistyped parameter in params.yaml (the message names the key)."""

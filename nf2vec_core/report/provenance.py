"""Where a generated page comes from: commit, date and hardware."""
from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
from pathlib import Path


def git_commit(root: Path) -> str:
    """Short hash of HEAD of the checkout at ``root``; "unknown" outside git or without git."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def hardware() -> str:
    """CPU model and core count, the GPU's name when CUDA is available, torch's version."""
    text = f"{cpu_model()}, {os.cpu_count()} cores"
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return text
    if torch.cuda.is_available():
        text += f", GPU {torch.cuda.get_device_name(0)}"
    return text + f", torch {torch.__version__}"


def provenance(root: Path) -> dict[str, str]:
    return {"commit": git_commit(root), "date": _dt.date.today().isoformat(), "hardware": hardware()}

"""Resumable stage outputs that survive ``dvc repro``.

DVC deletes a stage's outputs before running it, unless they are declared ``persist: true``. The
long stages (fits, encoder trainings) therefore declare their outputs persistent, so a failed or
interrupted run leaves the last good outputs in place, and build the new outputs in a *work
directory* outside them (``.work/<stage>/<key>/`` at the project root, ignored by git and DVC):

1. :func:`open_work` keeps the work directory only when its *fingerprint* (the settings, the
   content of the inputs and the code) is the one of this run; anything left by another run is
   wiped, so a resumed run never mixes results of different settings or data.
2. The stage fits/trains into the work directory, which its library code resumes from (completed
   shards, the last epoch's checkpoint).
3. :func:`publish_dir` / :func:`publish_file` move the finished results onto the declared outputs
   (a rename: the outputs are never half-written), and :func:`close_work` removes the work
   directory.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterable

PACKAGE_DIR = Path(__file__).resolve().parents[1]
FINGERPRINT_FILE = "fingerprint.txt"


def hash_paths(paths: Iterable[str | Path], h: "hashlib._Hash | None" = None) -> "hashlib._Hash":
    """Feed the relative names and bytes of every file under ``paths`` (files or folders, sorted)
    into a SHA-256."""
    h = h or hashlib.sha256()
    for root in paths:
        root = Path(root)
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        h.update(f"<{root.name}:{len(files)}>".encode())
        for f in files:
            h.update(str(f.relative_to(root) if f != root else f.name).encode())
            with f.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 22), b""):
                    h.update(block)
    return h


def code_files(extra: Iterable[str | Path] = ()) -> list[Path]:
    """The library's source files (and ``extra`` ones, e.g. the stage script)."""
    return sorted(PACKAGE_DIR.rglob("*.py")) + [Path(p) for p in extra]


def fingerprint(settings: Any, inputs: Iterable[str | Path], code: Iterable[str | Path] = ()) -> str:
    """A digest of the run's settings (JSON-able), its input files and its code."""
    h = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    hash_paths(inputs, h)
    hash_paths(code_files(code), h)
    return h.hexdigest()


def work_dir(root: str | Path, stage: str, key: str) -> Path:
    return Path(root) / ".work" / stage / key


def open_work(work: str | Path, fp: str) -> Path:
    """Make ``work`` the work directory of the run with fingerprint ``fp``: kept (resumed) when it
    holds that fingerprint, emptied otherwise."""
    work = Path(work)
    marker = work / FINGERPRINT_FILE
    if not (marker.is_file() and marker.read_text().strip() == fp):
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        marker.write_text(fp + "\n")
    return work


def resumed(work: str | Path) -> bool:
    """Whether ``work`` holds anything besides its fingerprint (state left by an interrupted run)."""
    return any(p.name != FINGERPRINT_FILE for p in Path(work).iterdir()) if Path(work).is_dir() else False


def publish_dir(src: str | Path, out: str | Path) -> Path:
    """Move the finished folder ``src`` onto ``out`` (the previous ``out`` is removed only once
    the new one is in place)."""
    src, out = Path(src), Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    old = out.with_name(f".{out.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        os.replace(out, old)
    os.replace(src, out)
    if old.exists():
        shutil.rmtree(old)
    return out


def publish_file(src: str | Path, out: str | Path) -> Path:
    """Copy the finished file ``src`` onto ``out`` atomically (``src`` stays for a resume)."""
    src, out = Path(src), Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.publish")
    shutil.copyfile(src, tmp)
    os.replace(tmp, out)
    return out


def close_work(work: str | Path) -> None:
    """Remove a work directory whose results have been published."""
    shutil.rmtree(work, ignore_errors=True)


__all__ = ["hash_paths", "code_files", "fingerprint", "work_dir", "open_work", "resumed", "publish_dir",
           "publish_file", "close_work"]

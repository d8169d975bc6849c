"""Soak test of resume under DVC: kill `dvc repro` at random points during `fit` and `train_encoder`
N times, finish the run, and compare the artifacts with an uninterrupted run's, byte for byte.

    python bench/soak.py --kills 10            # tiny params (the end-to-end test's), ~10 minutes on 2 cores

Two copies of the project are made in a temporary folder (git init + commit, as a user's clone):
one runs `dvc repro train_encoder@shapes` once; the other is killed (SIGKILL to the whole process
group) at a random moment after a resumable stage has started working in each attempt, then run to
completion. Printed: the number of kills,
where each resumed run started (completed shards of the fit, the last completed encoder epoch), and
how many of the compared files are identical and different.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from nf2vec_core.store.treefile import load_tree  # noqa: E402
from test_pipeline_e2e import TINY, _set  # noqa: E402  (the tiny params set of the end-to-end test)

TARGET = "train_encoder@shapes"
# longer than the e2e run, in more pieces: kills land after completed shards and epochs
SOAK = {"encoder.epochs": 24, "fit.steps": 60, "fit.shard_size": 4, "fit.chunk_size": 4}
TOP_LEVEL_SKIP = {".venv", "data", "models", ".work", ".git", "__pycache__", ".pytest_cache"}   # no outputs


def _ignore(folder: str, names: list[str]) -> set[str]:
    top = Path(folder) in (ROOT, SNAPSHOT)
    return {n for n in names if (top and n in TOP_LEVEL_SKIP) or n in ("__pycache__", "cache", "tmp") and
            Path(folder).name == ".dvc" or n.endswith(".egg-info") or n == "__pycache__"}


SNAPSHOT = ROOT   # set by main(): one copy of the project taken at the start, so that every project
                  # made from it holds the same files even if the working tree changes meanwhile


def make_project(dst: Path) -> Path:
    shutil.copytree(SNAPSHOT, dst, ignore=_ignore)
    params = yaml.safe_load((dst / "params.yaml").read_text())
    for k, v in {**TINY, **SOAK}.items():
        _set(params, k, v)
    (dst / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = _env()
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "soak"]):
        subprocess.run(cmd, cwd=dst, env=env, check=True)
    return dst


def _env() -> dict:
    return {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "soak", "GIT_AUTHOR_EMAIL": "soak@localhost",
            "GIT_COMMITTER_NAME": "soak", "GIT_COMMITTER_EMAIL": "soak@localhost",
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}


def repro(project: Path, kill_after: float | None = None) -> bool:
    """Run `dvc repro TARGET`; with ``kill_after``, SIGKILL it that many seconds after a resumable
    stage (fit, fit_views, train_encoder) has started working. True when it completed."""
    proc = subprocess.Popen(["dvc", "repro", TARGET], cwd=project, env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    if kill_after is None:
        if proc.wait() != 0:
            raise SystemExit("dvc repro failed")
        return True
    started = None
    while proc.poll() is None:
        if started is None and any((project / ".work").glob("*/*/fingerprint.txt")):
            started = time.perf_counter()
        if started is not None and time.perf_counter() - started > kill_after:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return False
        time.sleep(0.1)
    if proc.returncode != 0:
        raise SystemExit("dvc repro failed")
    return True


def progress(project: Path) -> str:
    """Where a resumed run starts: completed fit shards (main and view fits), last encoder epoch."""
    work = project / ".work"
    shards = len(list(work.glob("fit/**/shards/params-*.safetensors"))) + \
        len(list(work.glob("fit_views/**/shards/params-*.safetensors")))
    last = work / "train_encoder" / "shapes" / "last.safetensors"
    epoch = load_tree(last)["epoch"] if last.is_file() else 0
    return f"shards={shards} epochs={epoch}"


def artifacts(project: Path) -> dict[str, str]:
    paths = [*sorted((project / "data" / "neural").rglob("*")), *sorted((project / "data" / "neural_views").rglob("*")),
             *sorted((project / "models" / "shapes").glob("*"))]
    return {str(p.relative_to(project)): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", action="store_true", help="keep the temporary projects")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="nf2vec-soak-"))
    global SNAPSHOT
    try:
        SNAPSHOT = Path(shutil.copytree(ROOT, tmp / "snapshot", ignore=_ignore))
        ref = make_project(tmp / "reference")
        t0 = time.perf_counter()
        repro(ref)
        full = time.perf_counter() - t0
        print(f"uninterrupted run: {full:.0f} s")
        soak = make_project(tmp / "soak")
        kills, starts = 0, []
        while kills < args.kills:
            starts.append(progress(soak))
            if repro(soak, kill_after=rng.uniform(1.0, 0.6 * full)):
                print(f"attempt {len(starts)} completed before its kill time: project reset")
                shutil.rmtree(soak)
                soak = make_project(tmp / "soak")
                continue
            kills += 1
            print(f"kill {kills}: started at {starts[-1]}, killed at {progress(soak)}")
        starts.append(progress(soak))
        repro(soak)
        a, b = artifacts(ref), artifacts(soak)
        same = sum(a.get(k) == v for k, v in b.items())
        print(f"kills: {kills}; resumed from: {', '.join(starts[1:])}")
        print(f"files compared: {len(a)} reference / {len(b)} soaked; identical {same}, "
              f"different {len(set(a) | set(b)) - same}")
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                print(f"  differs: {k}")
        if a != b:
            raise SystemExit("soak: the interrupted run's artifacts differ from the uninterrupted run's")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

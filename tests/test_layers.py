"""The layer contract of nf2vec_core (pyproject.toml [tool.importlinter], docs/design.md "Layers"),
checked by import-linter (dvc.yaml's code deps: tests/test_stage_deps.py)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    if not LINT_IMPORTS.is_file():
        pytest.fail(f"{LINT_IMPORTS} not found: install the test extra (pip install -e '.[test]')")
    # run from `root`, so its nf2vec_core is the one analysed (lint-imports puts the working directory first)
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, capture_output=True, text=True, timeout=120)


def test_import_contracts_hold():
    res = _lint_imports(REPO_ROOT)
    assert res.returncode == 0, f"lint-imports found broken contracts:\n{res.stdout}{res.stderr}"
    assert "0 broken" in res.stdout


def test_a_lower_layer_importing_a_higher_one_breaks_the_contract(tmp_path):
    shutil.copytree(REPO_ROOT / "nf2vec_core", tmp_path / "nf2vec_core", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path)
    kinds = tmp_path / "nf2vec_core" / "fields" / "kinds.py"
    kinds.write_text(kinds.read_text() + "\nfrom ..train import losses  # noqa: E402,F401\n")
    res = _lint_imports(tmp_path)
    assert res.returncode == 1, res.stdout
    assert "nf2vec_core.fields is not allowed to import nf2vec_core.train" in res.stdout


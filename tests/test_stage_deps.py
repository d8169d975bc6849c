"""dvc.yaml's code deps are the code each stage runs (nf2vec_core/devtools/stage_deps.py; `make deps`)."""
from __future__ import annotations

import textwrap
from pathlib import Path

from nf2vec_core.devtools.stage_deps import code_deps, differences, expected_deps, imported_files, rewrite, stage_script

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_dvc_yaml_code_deps_are_the_imports():
    diff = differences(REPO_ROOT / "dvc.yaml", REPO_ROOT)
    assert diff == {}, "dvc.yaml code deps differ from the stage scripts' imports (run `make deps`):\n" + "\n".join(
        f"  {name}: missing {missing or '-'}; extra {extra or '-'}" for name, (missing, extra) in diff.items())


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text))


TOY = {
    "stages/_common.py": "import sys\nfrom nf2vec_core.errors import E\n",
    "stages/a.py": """\
        import json
        from _common import run
        from nf2vec_core.pkg import mod_a

        def main():
            import nf2vec_core.pkg.mod_b
        """,
    "stages/b.py": "from nf2vec_core.other import c\n",
    "nf2vec_core/__init__.py": "",
    "nf2vec_core/errors.py": "class E(Exception): ...\n",
    "nf2vec_core/pkg/__init__.py": "",
    "nf2vec_core/pkg/mod_a.py": "from .mod_c import x\nfrom ..errors import E\n",
    "nf2vec_core/pkg/mod_b.py": """\
        from typing import TYPE_CHECKING
        import torch
        if TYPE_CHECKING:
            from nf2vec_core.other import c
        """,
    "nf2vec_core/pkg/mod_c.py": "x = 1\n",
    "nf2vec_core/other/__init__.py": "",
    "nf2vec_core/other/c.py": "",
    "nf2vec_core/other/d.py": "",
}


def test_imports_are_followed_transitively(tmp_path):
    _write(tmp_path, TOY)
    assert imported_files("stages/a.py", tmp_path) == {
        "stages/a.py", "stages/_common.py", "nf2vec_core/__init__.py", "nf2vec_core/errors.py",
        "nf2vec_core/pkg/__init__.py", "nf2vec_core/pkg/mod_a.py", "nf2vec_core/pkg/mod_c.py",
        "nf2vec_core/pkg/mod_b.py"}  # function-level and relative imports count; TYPE_CHECKING ones do not


def test_deps_are_files_never_a_folder(tmp_path):
    """A stage that runs every module of a package still lists them one by one: a module added to
    the package later must not change the stage's deps."""
    _write(tmp_path, TOY)
    assert code_deps(imported_files("stages/a.py", tmp_path)) == [
        "nf2vec_core/__init__.py", "nf2vec_core/errors.py", "nf2vec_core/pkg/__init__.py", "nf2vec_core/pkg/mod_a.py",
        "nf2vec_core/pkg/mod_b.py", "nf2vec_core/pkg/mod_c.py", "stages/_common.py", "stages/a.py"]
    assert code_deps(imported_files("stages/b.py", tmp_path)) == [
        "nf2vec_core/__init__.py", "nf2vec_core/other/__init__.py", "nf2vec_core/other/c.py", "stages/b.py"]
    (tmp_path / "nf2vec_core" / "pkg" / "mod_new.py").write_text("X = 1\n")
    assert "nf2vec_core/pkg/mod_new.py" not in code_deps(imported_files("stages/a.py", tmp_path))


def test_stage_script_of_a_cmd():
    assert stage_script("python stages/fit.py --dataset ${key} --out x") == "stages/fit.py"
    assert stage_script("python stages/site.py --page nerf") == "stages/site.py"
    assert stage_script("dvc --version") is None


DVC_YAML = """\
stages:
  a:
    foreach: ${datasets}
    do:
      cmd: python stages/a.py --dataset ${key}
      deps:
        - stages/a.py
        - data/prepared/${key}
        - nf2vec_core/other
        # the inputs
        - ${item.inputs}
      params:
        - datasets.${key}
      outs:
        - data/a/${key}

  # page b
  b:
    cmd: >-
      python stages/b.py
      --flag 1
    deps:
      - metrics/a.json
      - nf2vec_core/__init__.py
      - nf2vec_core/other/__init__.py
      - nf2vec_core/other/c.py
      - stages/b.py
"""


def test_a_stage_missing_code_is_named_and_rewritten_in_place(tmp_path):
    _write(tmp_path, TOY)
    (tmp_path / "dvc.yaml").write_text(DVC_YAML)
    diff = differences(tmp_path / "dvc.yaml", tmp_path)
    assert list(diff) == ["a"]
    missing, extra = diff["a"]
    assert "stages/_common.py" in missing and "nf2vec_core/pkg/mod_b.py" in missing
    assert extra == ["nf2vec_core/other/__init__.py", "nf2vec_core/other/c.py", "nf2vec_core/other/d.py"]

    assert rewrite(tmp_path / "dvc.yaml", tmp_path) == ["a"]
    assert differences(tmp_path / "dvc.yaml", tmp_path) == {}
    text = (tmp_path / "dvc.yaml").read_text()
    assert text.split("  # page b\n")[1] == DVC_YAML.split("  # page b\n")[1]  # stage b untouched
    assert "        - data/prepared/${key}\n        # the inputs\n        - ${item.inputs}\n" \
           "        - nf2vec_core/__init__.py\n" in text  # data deps and comment kept, code deps after them
    assert "      params:\n        - datasets.${key}\n      outs:\n        - data/a/${key}\n" in text
    assert rewrite(tmp_path / "dvc.yaml", tmp_path) == []  # idempotent


def test_no_stage_runs_the_devtools():
    runs = {name: deps for name, deps in expected_deps(REPO_ROOT / "dvc.yaml", REPO_ROOT).items()
            if any(d.startswith("nf2vec_core/devtools") for d in deps)}
    assert runs == {}

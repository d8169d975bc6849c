"""The code a DVC stage runs, derived from its imports, and dvc.yaml's code deps rewritten from it.

For a stage script ``stages/X.py`` the code it runs is the script, every repo-local module it
imports (``import``/``from ... import`` at module or function level, relative imports resolved;
modules beside the script such as ``stages/_common.py`` included) and, transitively, what those
import, with the ``__init__.py`` of every package on the way. Imports under ``if TYPE_CHECKING:``
do not run and do not count; third-party modules are not repo code.

Granularity of the listed deps (:func:`code_deps`): one path per file, sorted. A package folder
would stand for modules a stage does not run, so a new module would re-run stages it cannot
change. Folders already in a dvc.yaml are read as their ``.py`` files (:func:`expand`).

    python -m nf2vec_core.devtools.stage_deps            # report the stages whose code deps differ
    python -m nf2vec_core.devtools.stage_deps --write    # rewrite them in dvc.yaml (make deps)

Only the code entries of each stage's ``deps:`` (paths under ``stages/`` or ``nf2vec_core/``) are
rewritten; data deps, params, outs, comments and foreach/do structure stay. Development tool:
nothing in the pipeline imports it.
"""
from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from io import StringIO
from pathlib import Path

import yaml
from ruamel.yaml import YAML

from ..store.io import write_text

REPO_ROOT = Path(__file__).resolve().parents[2]
CODE_ROOTS = ("stages/", "nf2vec_core/")
_SCRIPT = re.compile(r"\bpython3?\s+(stages/\w+\.py)\b")


def is_code_dep(dep: str) -> bool:
    """A dvc.yaml dep that names repo code (the part this module derives)."""
    return dep.startswith(CODE_ROOTS)


def stage_script(cmd: str) -> str | None:
    """The script ``stages/X.py`` a stage's cmd runs (None when it runs none)."""
    m = _SCRIPT.search(cmd)
    return m.group(1) if m else None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """The import statements that run: all of them, at any depth, but those under ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


@dataclass(frozen=True)
class _Resolver:
    """Module names to repo files: top-level modules are looked up beside the script (its directory
    is first on sys.path), then at the repo root."""
    root: Path
    script_dir: Path

    def module_files(self, name: str) -> list[Path] | None:
        """The files importing ``name`` runs (each package's ``__init__.py`` and the module), or
        None when ``name`` is not repo code."""
        parts = name.split(".")
        for base in (self.script_dir, self.root):
            files: list[Path] = []
            here = base
            for i, part in enumerate(parts):
                pkg, mod = here / part / "__init__.py", here / f"{part}.py"
                if pkg.is_file():
                    files.append(pkg)
                    here = here / part
                elif mod.is_file() and i == len(parts) - 1:
                    files.append(mod)
                else:
                    files = []
                    break
            if files:
                return files
        return None

    def package_of(self, file: Path) -> str:
        """The package a file's relative imports start from ("" for a module beside the script)."""
        if file.parent == self.script_dir:
            return ""
        return ".".join(file.relative_to(self.root).with_suffix("").parts[:-1])

    def targets(self, file: Path, node: ast.Import | ast.ImportFrom) -> list[Path]:
        """Repo files an import statement in ``file`` runs."""
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            if node.level:
                pkg = [p for p in self.package_of(file).split(".") if p]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join(pkg + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names = [base] + [f"{base}.{a.name}" if base else a.name for a in node.names if a.name != "*"]
        out: list[Path] = []
        for i, name in enumerate(names):
            files = self.module_files(name) if name else None
            if files:
                out.extend(files)
            elif i == 0 and isinstance(node, ast.ImportFrom):
                break  # `from third_party import x`: nothing of the repo
        return out


@lru_cache(maxsize=None)
def _parse(file: Path) -> ast.AST:
    return ast.parse(file.read_text(), filename=str(file))


def imported_files(script: str | Path, root: Path = REPO_ROOT) -> set[str]:
    """The repo files (paths relative to ``root``) running ``script`` executes: the script and its
    repo-local imports, transitively."""
    root = Path(root).resolve()
    start = (root / script).resolve()
    resolver = _Resolver(root, start.parent)
    seen: set[Path] = set()
    todo = [start]
    while todo:
        file = todo.pop()
        if file in seen:
            continue
        seen.add(file)
        for node in _imports(_parse(file)):
            todo.extend(f.resolve() for f in resolver.targets(file, node) if f.resolve() not in seen)
    return {f.relative_to(root).as_posix() for f in seen}


def package_files(folder: Path) -> set[Path]:
    """The ``.py`` files under a package folder (sub-packages included)."""
    return {p for p in folder.rglob("*.py") if "__pycache__" not in p.parts}


def expand(deps: list[str], root: Path = REPO_ROOT) -> set[str]:
    """Code deps as files: a folder stands for its ``.py`` files."""
    out: set[str] = set()
    for d in deps:
        path = root / d
        if path.is_dir():
            out |= {p.relative_to(root).as_posix() for p in package_files(path)}
        else:
            out.add(d)
    return out


def code_deps(files: set[str]) -> list[str]:
    """``files`` as dvc.yaml lists them: one sorted path per file. Never a package folder: a module
    added to a package would change the hash of every stage that lists the folder, though none of
    them runs it."""
    return sorted(files)


def _stage_bodies(stages: dict) -> dict:
    """name -> the mapping holding cmd/deps (``do`` of a foreach stage)."""
    return {name: (s["do"] if "do" in s else s) for name, s in stages.items()}


def expected_deps(dvc_yaml: Path = REPO_ROOT / "dvc.yaml", root: Path = REPO_ROOT) -> dict[str, list[str]]:
    """Stage name -> the code deps its script's imports give (stages running no script are left out)."""
    stages = yaml.safe_load(Path(dvc_yaml).read_text())["stages"]
    out = {}
    for name, body in _stage_bodies(stages).items():
        script = stage_script(str(body.get("cmd", "")))
        if script:
            out[name] = code_deps(imported_files(script, root))
    return out


def differences(dvc_yaml: Path = REPO_ROOT / "dvc.yaml", root: Path = REPO_ROOT) -> dict[str, tuple[list, list]]:
    """Stage name -> (files missing from its deps, files listed but not run), for stages that differ."""
    stages = _stage_bodies(yaml.safe_load(Path(dvc_yaml).read_text())["stages"])
    out = {}
    for name, want in expected_deps(dvc_yaml, root).items():
        listed = [d for d in stages[name].get("deps") or [] if isinstance(d, str) and is_code_dep(d)]
        have, need = expand(listed, root), expand(want, root)
        if have != need or listed != want:
            out[name] = (sorted(need - have), sorted(have - need))
    return out


def _drop_item(seq, i: int) -> None:
    """``del seq[i]`` on a ruamel sequence, the comment lines after item ``i`` (which introduce the
    next item) handed to item ``i - 1``."""
    comment = seq.ca.items.pop(i, None)
    del seq[i]
    if comment and comment[0] is not None and i > 0:
        prev = seq.ca.items.setdefault(i - 1, [None, None, None, None])
        if prev[0] is None:
            prev[0] = comment[0]
        else:
            prev[0].value += comment[0].value.lstrip("\n")


def rewrite(dvc_yaml: Path = REPO_ROOT / "dvc.yaml", root: Path = REPO_ROOT) -> list[str]:
    """Replace each stage's code deps in ``dvc_yaml`` with :func:`expected_deps` (after its other
    deps, in their order); comments and layout kept. Returns the names of the stages changed."""
    yml = YAML()  # round-trip
    yml.preserve_quotes = True
    yml.width = 4096
    yml.indent(mapping=2, sequence=4, offset=2)
    doc = yml.load(Path(dvc_yaml).read_text())
    changed = []
    for name, want in expected_deps(dvc_yaml, root).items():
        deps = _stage_bodies(doc["stages"])[name].setdefault("deps", [])
        listed = [d for d in deps if isinstance(d, str) and is_code_dep(d)]
        if listed == want:
            continue
        for i in reversed(range(len(deps))):
            if isinstance(deps[i], str) and is_code_dep(deps[i]):
                _drop_item(deps, i)
        deps.extend(want)
        changed.append(name)
    if changed:
        buf = StringIO()
        yml.dump(doc, buf)
        write_text(dvc_yaml, buf.getvalue())
    return changed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="dvc.yaml code deps derived from the stage scripts' imports")
    ap.add_argument("--dvc-yaml", default=str(REPO_ROOT / "dvc.yaml"))
    ap.add_argument("--write", action="store_true", help="rewrite the differing code deps in place")
    args = ap.parse_args(argv)
    path = Path(args.dvc_yaml)
    if args.write:
        changed = rewrite(path, path.resolve().parent)
        print(f"{path}: code deps rewritten for {len(changed)} stage(s){': ' + ', '.join(changed) if changed else ''}")
        return 0
    diff = differences(path, path.resolve().parent)
    for name, (missing, extra) in diff.items():
        print(f"{name}: missing {missing or '-'}; extra {extra or '-'}")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())

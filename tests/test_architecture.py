"""The house rules that keep the code changeable (README, Architecture; CONTRIBUTING.md).

- imports point down the floors (import-linter, `.importlinter`): proven here to catch an
  upward import, and run on the real tree by `python3 dev.py test`;
- no module over 500 lines, no function over 80 lines (migrations and tests aside);
- an import of another app inside a function body says why, in a comment.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("psa", "ledger", "crm", "projects", "timesheets", "billing")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def _sources() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def _floor(module: str) -> str:
    """The floor a dotted module name lives on: an app, or psa's kernel/automation/site."""
    parts = module.split(".")
    if parts[0] == "psa":
        return (
            "psa." + parts[1] if len(parts) > 1 and parts[1] in ("kernel", "automation") else "psa"
        )
    return parts[0]


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_no_module_is_longer_than_500_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in _sources()
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}, f"split these into a package of area modules: {long}"


def test_no_function_is_longer_than_80_lines():
    long = {}
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = length
    assert long == {}, f"split these functions (tables of data belong in module constants): {long}"


def _inner_imports(tree: ast.AST):
    """Imports inside function bodies (at any depth) with the function's name."""
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for stmt in func.body:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Import):
                    yield node, [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    yield node, [node.module]


def test_an_import_of_another_app_inside_a_function_says_why():
    unexplained = []
    for path in _sources():
        source = path.read_text()
        lines = source.splitlines()
        here = _floor(_module_name(path))
        for node, modules in _inner_imports(ast.parse(source)):
            others = [m for m in modules if m.split(".")[0] in PACKAGES and _floor(m) != here]
            if not others:
                continue
            # The comment stands on the line, or above the block of imports the line is part of.
            row = node.lineno - 2
            while row >= 0 and lines[row].strip().startswith(("from ", "import ")):
                row -= 1
            above = lines[row].strip() if row >= 0 else ""
            if not (above.startswith("#") or "#" in lines[node.lineno - 1]):
                unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno} {others}")
    assert unexplained == [], f"move these to the top of the module, or say why not: {unexplained}"


def _copy_tree(target: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / ".importlinter", target / ".importlinter")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(executable), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    ("module", "upward", "message"),
    [
        ("ledger/models.py", "import billing.models", "ledger is not allowed to import billing"),
        ("psa/kernel/money.py", "import crm.models", "psa.kernel is not allowed to import crm"),
        ("billing/apps.py", "import psa.automation", "billing is not allowed to import"),
    ],
)
def test_an_upward_import_fails_the_floors_contract(tmp_path, module, upward, message):
    _copy_tree(tmp_path)
    assert _lint_imports(tmp_path).returncode == 0, "the tree itself keeps the contract"
    path = tmp_path / module
    # Inside a function body, where a hidden import would be easiest to miss.
    path.write_text(path.read_text() + f"\n\ndef _sneaky():\n    {upward}\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert message in result.stdout

"""The house rules that keep the code changeable (README, Architecture; CONTRIBUTING.md).

- imports point down the floors (import-linter, `.importlinter`): proven here to catch an
  upward import, and run on the real tree by `python3 dev.py test`;
- no module over 500 lines, no function over 80 lines (migrations and tests aside);
- an import of another app inside a function body says why, in a comment;
- the product's dates come from the one clock (psa.kernel.clock): real time is read only for
  technical timestamps, by the functions TECHNICAL_NOW lists.
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


# One clock (CONTRIBUTING.md, "Dates: one clock"): the product's dates come from
# psa.kernel.clock. Real time is read only by the clock itself and, for technical timestamps
# (retries and backoff of the outboxes, token expiry, rate limits, run and audit records,
# row `updated_at`s), by the functions listed here with `timezone.now()`.
CLOCK_MODULE = "psa/kernel/clock.py"
TECHNICAL_NOW = frozenset(
    {
        "billing/selectors/payments.py:attempts_needing_attention",
        # The simulator's run records and the operations page's ages are real time.
        "psa/automation/management/commands/simulate.py:handle",
        "psa/automation/simulator_report.py:_actions",
        "billing/services/checkout.py:checkout_start",
        "billing/services/collect.py:_mark_failed",
        "billing/services/collect.py:attempt_follow_up",
        "billing/services/collect.py:attempt_send",
        "billing/services/payments.py:_method_save",
        "billing/services/payments.py:payment_confirm",
        "billing/services/pdf.py:invoice_pdf_store",
        "billing/services/runs.py:billing_run_execute",
        "billing/services/stripe_events.py:_on_checkout_session",
        "billing/services/stripe_events.py:stripe_event_process",
        "billing/services/voiding.py:_prepayments_returned",
        "billing/services/voiding.py:invoice_void",
        "ledger/outbox.py:outbox_enqueue",
        "ledger/views.py:integration",
        "projects/services/__init__.py:milestone_reach",
        "psa/automation/jobs.py:_finish",
        "psa/automation/jobs.py:job_run",
        "psa/automation/sweeps.py:attempts_reconcile",
        "psa/automation/tasks.py:heartbeat",
        "psa/automation/views.py:operations",
        "psa/kernel/delivery.py:deliver",
        "psa/kernel/delivery.py:due",
        "psa/kernel/delivery.py:retry",
        "psa/kernel/mail.py:mail_due",
        "psa/kernel/mail.py:mail_enqueue",
        "psa/kernel/mail.py:mail_problems",
        "psa/kernel/mail.py:mail_send",
        "psa/kernel/middleware.py:__call__",
        "psa/kernel/middleware.py:_idempotency_owner",
        "psa/kernel/services.py:api_token_authenticate",
        "psa/kernel/services.py:api_token_create",
        "psa/kernel/services.py:api_token_revoke",
        "psa/kernel/views.py:api_tokens",
        "psa/kernel/webhooks.py:webhook_unsubscribe",
        "psa/kernel/webhooks.py:webhooks_emit",
    }
)
_REAL_DATE = {
    ("date", "today"), ("datetime", "now"), ("datetime", "today"), ("datetime", "utcnow"),
}  # fmt: skip


def _real_time_reads(tree: ast.AST):
    """(function, line, what) for every read of real time: `timezone.now`, an argument-less
    `timezone.localdate()`/`localtime()`, `date.today`, `datetime.now`/`today`/`utcnow`, and
    importing them by name from django.utils.timezone."""
    # `timezone.localdate(moment)` only converts; without an argument, or passed as a
    # callable (a field's default), it reads real time.
    converting = {
        id(node.func)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and (node.args or node.keywords)
    }

    def visit(node: ast.AST, function: str):
        for child in ast.iter_child_nodes(node):
            name = function
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = child.name
            if isinstance(child, ast.ImportFrom) and child.module == "django.utils.timezone":
                for alias in child.names:
                    if alias.name in ("now", "localdate", "localtime"):
                        yield (
                            function,
                            child.lineno,
                            f"from django.utils.timezone import {alias.name}",
                        )
            if isinstance(child, ast.Attribute):
                owner = child.value
                owner_name = (
                    owner.id if isinstance(owner, ast.Name)
                    else owner.attr if isinstance(owner, ast.Attribute) else ""
                )  # fmt: skip
                if owner_name == "timezone" and child.attr == "now":
                    yield function, child.lineno, "timezone.now"
                elif owner_name == "timezone" and child.attr in ("localdate", "localtime"):
                    if id(child) not in converting:
                        yield function, child.lineno, f"timezone.{child.attr}()"
                elif (owner_name, child.attr) in _REAL_DATE:
                    yield function, child.lineno, f"{owner_name}.{child.attr}"
            yield from visit(child, name)

    yield from visit(tree, "<module>")


def _clock_bypasses() -> list[str]:
    found, allowed = [], set()
    for path in _sources():
        relative = str(path.relative_to(ROOT))
        if relative == CLOCK_MODULE:
            continue
        for function, line, what in _real_time_reads(ast.parse(path.read_text())):
            if what == "timezone.now" and f"{relative}:{function}" in TECHNICAL_NOW:
                allowed.add(f"{relative}:{function}")
                continue
            found.append(f"{relative}:{line} ({function}) {what}")
    for template in sorted((ROOT / "templates").rglob("*.html")):
        for number, text in enumerate(template.read_text().splitlines(), 1):
            if "{% now " in text:
                found.append(f"{template.relative_to(ROOT)}:{number} {{% now %}}")
    found += [f"{stale} is in TECHNICAL_NOW but reads no time" for stale in TECHNICAL_NOW - allowed]
    return found


def test_the_product_reads_its_dates_from_the_one_clock():
    bypasses = _clock_bypasses()
    assert bypasses == [], (
        "use psa.kernel.clock.today()/now() (business dates), or add the function to "
        f"TECHNICAL_NOW if it stamps a technical timestamp (CONTRIBUTING.md): {bypasses}"
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f():\n    return timezone.localdate()\n", [("f", 2, "timezone.localdate()")]),
        ("def f():\n    return dt.date.today()\n", [("f", 2, "date.today")]),
        (
            "x = models.DateField(default=timezone.localdate)\n",
            [("<module>", 1, "timezone.localdate()")],
        ),
        ("def g():\n    return timezone.now()\n", [("g", 2, "timezone.now")]),
        ("def h(at):\n    return timezone.localdate(at)\n", []),
        ("def k():\n    return clock.today()\n", []),
    ],
)
def test_a_read_of_real_time_is_found(source, expected):
    assert list(_real_time_reads(ast.parse(source))) == expected

"""What makes a manual journal entry acceptable, checked before anything is written.

Every problem is reported against the field a person typed it in (``memo``, ``lines``,
``lines[1].account``, ``lines[0].debit``), all at once, so a form or an API client can show
each message beside its input. Lines are numbered from 0, as in the request body.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ledger import rules
from ledger.models import Account, LegalEntity
from psa.kernel import errors
from psa.kernel.dates import date_problem
from psa.kernel.money import MoneyError, round_money, to_decimal

# Larger than any real posting and safely inside the columns (20 digits, 2 decimals).
LIMIT = Decimal(10) ** 15


def _amount(raw: Any, currency: str) -> tuple[Decimal, str]:
    """The amount and, if it is unusable, why (blank counts as zero)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return Decimal(0), ""
    if isinstance(raw, str):
        raw = raw.strip().replace(",", ".")  # a decimal comma is as good as a point
    try:
        value = to_decimal(raw)
    except MoneyError:
        return Decimal(0), "Not an amount."
    if value < 0:
        return value, "Must be positive: use the other column for the other side."
    if value >= LIMIT:
        return value, "Too large."
    if value != round_money(value, currency):
        return value, f"{currency} amounts have at most {_places(currency)} decimals."
    return value, ""


def _places(currency: str) -> int:
    return -round_money(0, currency).as_tuple().exponent


def _account(raw: Any, accounts: dict[str, Account]) -> tuple[Account | None, str]:
    if isinstance(raw, Account):
        raw = raw.code if raw.pk in {a.pk for a in accounts.values()} else ""
    code = str(raw or "").strip()
    if not code:
        return None, "Choose an account."
    account = accounts.get(code)
    if account is None:
        return None, "No such account in this legal entity."
    if not account.is_active:
        return None, "This account is closed."
    return account, ""


def _line(
    i: int, raw: dict[str, Any], accounts: dict[str, Account], currency: str, fields: dict
) -> tuple[int, rules.Line] | None:
    account, problem = _account(raw.get("account"), accounts)
    if problem:
        fields[f"lines[{i}].account"] = problem
    debit, debit_problem = _amount(raw.get("debit"), currency)
    credit, credit_problem = _amount(raw.get("credit"), currency)
    for side, side_problem in (("debit", debit_problem), ("credit", credit_problem)):
        if side_problem:
            fields[f"lines[{i}].{side}"] = side_problem
    if debit_problem or credit_problem:
        return None
    if (debit > 0) == (credit > 0):
        fields[f"lines[{i}].debit"] = "Enter a debit or a credit (one, not both)."
        return None
    if account is None:
        return None
    description = str(raw.get("description") or "").strip()
    line = rules.Line(
        role="", debit=debit, credit=credit, amount_currency=debit - credit, currency=currency,
        fx_rate=Decimal(1), description=description[:300],
    )  # fmt: skip
    return account.pk, line


def manual_lines(
    *,
    legal_entity: LegalEntity,
    memo: str,
    lines: list[dict[str, Any]],
    date: dt.date | None = None,
    today: dt.date | None = None,
) -> list[tuple[int, rules.Line]]:
    """The (account id, line) pairs to write, or ValidationFailed naming every bad field."""
    currency = legal_entity.functional_currency
    fields: dict[str, str] = {}
    # A typo in the year (0001, 9999) must not reach the books: periods a firm really posts to
    # lie within a few years of today (old periods are usually locked anyway). The one policy
    # for operational dates (psa.kernel.dates), as the API's schema states it.
    problem = date and date_problem(date, operational=True, today=today)
    if problem:
        fields["date"] = problem
    if not memo.strip():
        fields["memo"] = "Say what the entry is for."
    # Blank rows (a form's spare ones) are skipped; the others keep their index.
    filled = [
        (i, raw) for i, raw in enumerate(lines) if any(str(v or "").strip() for v in raw.values())
    ]
    accounts = {a.code: a for a in Account.objects.filter(legal_entity=legal_entity)}
    pairs = [_line(i, raw, accounts, currency, fields) for i, raw in filled]
    if len(filled) < 2:
        fields["lines"] = "An entry needs at least two lines."
    elif not fields:
        debits = sum(ln.debit for _, ln in pairs if ln)
        credits = sum(ln.credit for _, ln in pairs if ln)
        if debits != credits:
            fields["lines"] = (
                f"Debits ({debits} {currency}) and credits ({credits} {currency}) must be equal."
            )
    if fields:
        first = next(iter(fields.values()))
        raise errors.ValidationFailed(
            f"The entry cannot be posted: {first}", fields=fields, code="validation_failed"
        )
    return [pair for pair in pairs if pair]

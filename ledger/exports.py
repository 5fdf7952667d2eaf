"""Exports of a period's journal for the firm's accounting system or for verification.

All formats carry functional-currency amounts (the amounts the books balance in). Period
exports open with the balances brought forward, so each file balances on its own. The lines are
streamed from one query ordered by entry; nothing is loaded per row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby

from django.db.models import F, Sum

from ledger.models import Account, AccountType, JournalLine, LegalEntity
from psa.kernel.money import MoneyError, round_money

ZERO = Decimal(0)
FORMATS = {
    "csv": ("text/csv", "csv"),
    "xero": ("text/csv", "csv"),
    "iif": ("text/plain", "iif"),
    "beancount": ("text/plain", "beancount"),
    "hledger": ("text/plain", "journal"),
}


@dataclass(frozen=True)
class _Row:
    entry_id: int
    date: dt.date
    memo: str
    event: str
    source: str
    code: str
    name: str
    type: str
    debit: Decimal
    credit: Decimal
    currency: str
    amount_currency: Decimal
    customer_id: int | None
    project_id: int | None
    document: str
    description: str

    @property
    def signed(self) -> Decimal:
        return self.debit - self.credit


def _rows(entity: LegalEntity, start: dt.date, end: dt.date) -> Iterator[_Row]:
    qs = (
        JournalLine.objects.filter(legal_entity=entity, date__gte=start, date__lte=end)
        .order_by("date", "entry_id", "id")
        .values_list(
            "entry_id", "entry__date", "entry__memo", "entry__event", "entry__source_type",
            "entry__source_id", "account__code", "account__name", "account__type", "debit",
            "credit", "currency", "amount_currency", "customer_id", "project_id", "document",
            "description",
        )
    )  # fmt: skip
    cur = entity.functional_currency
    for r in qs.iterator(chunk_size=5000):
        yield _Row(
            r[0], r[1], r[2], r[3], f"{r[4]}:{r[5]}", r[6], r[7], r[8], _places(r[9], cur),
            _places(r[10], cur), r[11], _places(r[12], r[11]), *r[13:],
        )  # fmt: skip


def _places(amount: Decimal, currency: str) -> Decimal:
    """The amount written with its currency's decimals (the columns hold three for every
    currency: 5400.000 GBP is exported as 5400.00, 1500.000 JPY as 1500)."""
    try:
        return round_money(amount, currency)
    except MoneyError:
        return amount


def _opening(entity: LegalEntity, start: dt.date) -> list[tuple[Account, Decimal]]:
    """Each account's balance (debit - credit) brought forward to ``start``."""
    nets = dict(
        JournalLine.objects.filter(legal_entity=entity, date__lt=start)
        .values("account_id")
        .annotate(net=Sum(F("debit") - F("credit")))
        .values_list("account_id", "net")
    )
    accounts = Account.objects.filter(pk__in=[k for k, v in nets.items() if v]).order_by("code")
    return [(a, _places(nets[a.pk], entity.functional_currency)) for a in accounts]


def _closing(entity: LegalEntity, end: dt.date) -> list[tuple[Account, Decimal]]:
    return _opening(entity, end + dt.timedelta(days=1))


def export(fmt: str, *, legal_entity: LegalEntity, start: dt.date, end: dt.date) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}")
    return {
        "csv": export_csv,
        "xero": export_xero,
        "iif": export_iif,
        "beancount": export_beancount,
        "hledger": export_hledger,
    }[fmt](legal_entity=legal_entity, start=start, end=end)


def export_csv(*, legal_entity: LegalEntity, start: dt.date, end: dt.date) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([
        "date", "entry", "event", "source", "account", "account_name", "debit", "credit",
        "currency", "transaction_currency", "transaction_amount", "customer_id", "project_id",
        "document", "description",
    ])  # fmt: skip
    cur = legal_entity.functional_currency
    for r in _rows(legal_entity, start, end):
        w.writerow([
            r.date.isoformat(), r.entry_id, r.event, r.source, r.code, r.name, r.debit, r.credit,
            cur, r.currency, r.amount_currency, r.customer_id or "", r.project_id or "",
            r.document, r.description or r.memo,
        ])  # fmt: skip
    return out.getvalue()


def export_xero(*, legal_entity: LegalEntity, start: dt.date, end: dt.date) -> str:
    """Xero's manual journal import: one journal per entry, amounts + debit / - credit."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([
        "*Narration", "*Date", "Description", "*AccountCode", "*TaxRate", "*Amount",
        "TrackingName1", "TrackingOption1",
    ])  # fmt: skip
    for r in _rows(legal_entity, start, end):
        w.writerow([
            f"JE {r.entry_id} {r.memo or r.event}"[:250], r.date.strftime("%d/%m/%Y"),
            r.description or r.memo, r.code, "Tax Exempt", r.signed,
            "Project" if r.project_id else "", r.project_id or "",
        ])  # fmt: skip
    return out.getvalue()


def export_iif(*, legal_entity: LegalEntity, start: dt.date, end: dt.date) -> str:
    """QuickBooks Desktop IIF general journal: signed amounts, accounts by name."""
    lines = [
        "!TRNS\tTRNSID\tTRNSTYPE\tDATE\tACCNT\tAMOUNT\tDOCNUM\tMEMO",
        "!SPL\tSPLID\tTRNSTYPE\tDATE\tACCNT\tAMOUNT\tDOCNUM\tMEMO",
        "!ENDTRNS",
    ]
    for entry_id, group in groupby(_rows(legal_entity, start, end), key=lambda r: r.entry_id):
        for i, r in enumerate(group):
            memo = (r.description or r.memo).replace("\t", " ").replace("\n", " ")
            kind = "TRNS" if i == 0 else "SPL"
            lines.append(
                f"{kind}\t\tGENERAL JOURNAL\t{r.date:%m/%d/%Y}\t{r.name} ({r.code})\t"
                f"{r.signed}\tJE{entry_id}\t{memo}"
            )
        lines.append("ENDTRNS")
    return "\n".join(lines) + "\n"


_ROOTS = {
    AccountType.ASSET: "Assets",
    AccountType.LIABILITY: "Liabilities",
    AccountType.EQUITY: "Equity",
    AccountType.INCOME: "Income",
    AccountType.EXPENSE: "Expenses",
}


def _plain_account(code: str, name: str, type_: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", name)
    return f"{_ROOTS[type_]}:A{code}-{'-'.join(w.capitalize() for w in words) or 'Account'}"


def _quote(text: str) -> str:
    return text.replace("\\", "/").replace('"', "'").replace("\n", " ")


def _text_journal(*, legal_entity: LegalEntity, start: dt.date, end: dt.date, dialect: str) -> str:
    """beancount and hledger share a shape: declarations, transactions, balance assertions."""
    cur = legal_entity.functional_currency
    accounts = Account.objects.filter(legal_entity=legal_entity).order_by("code")
    name = {a.code: _plain_account(a.code, a.name, a.type) for a in accounts}
    if dialect == "hledger":
        name = {code: n.lower() for code, n in name.items()}
    out: list[str] = [f"; {legal_entity.legal_name}: journal {start} to {end}, in {cur}", ""]
    opened = start - dt.timedelta(days=1)
    if dialect == "beancount":
        out += [
            f'option "title" "{_quote(legal_entity.name)}"',
            f'option "operating_currency" "{cur}"',
            # Zero tolerance: a residue of a hundredth of a cent must fail the check.
            'option "inferred_tolerance_default" "*:0"',
            'option "tolerance_multiplier" "0"',
            "",
        ]
        out += [f"{opened} open {name[a.code]} {cur}" for a in accounts]
    else:
        out += [f"commodity 1,000.00 {cur}", ""]
        out += [f"account {name[a.code]}" for a in accounts]
    out.append("")

    opening = _opening(legal_entity, start)
    if opening:
        flag = "*"
        out.append(f'{opened} {flag} "Balances brought forward"')
        for account, net in opening:
            out.append(f"  {name[account.code]}  {net} {cur}")
        out.append("")

    for entry_id, group in groupby(_rows(legal_entity, start, end), key=lambda r: r.entry_id):
        rows = list(group)
        head = rows[0]
        title = _quote(head.memo or head.event)
        if dialect == "beancount":
            out.append(f'{head.date} * "{title}"')
            out.append(f'  entry: "{entry_id}"')
            out.append(f'  source: "{_quote(head.source)}"')
        else:
            out.append(f"{head.date} * {title}  ; entry:{entry_id}, source:{head.source}")
        for r in rows:
            out.append(f"  {name[r.code]}  {r.signed} {cur}")
        out.append("")

    # Our own closing balances, asserted: the checker proves the file sums to our books.
    closing = _closing(legal_entity, end)
    check_day = end + dt.timedelta(days=1)
    if dialect == "beancount":
        out += [f"{check_day} balance {name[a.code]}  {net} {cur}" for a, net in closing]
    elif closing:
        out.append(f"{end} * Closing balance assertions")
        out += [f"  {name[a.code]}  0 {cur} = {net} {cur}" for a, net in closing]
    return "\n".join(out) + "\n"


def export_beancount(*, legal_entity: LegalEntity, start: dt.date, end: dt.date) -> str:
    return _text_journal(legal_entity=legal_entity, start=start, end=end, dialect="beancount")


def export_hledger(*, legal_entity: LegalEntity, start: dt.date, end: dt.date) -> str:
    return _text_journal(legal_entity=legal_entity, start=start, end=end, dialect="hledger")

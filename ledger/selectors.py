"""Reads of the books. Every report is one SQL aggregation, never a Python loop over lines."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, F, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from ledger.models import (
    DEBIT_NORMAL,
    Account,
    AccountType,
    FxRate,
    JournalEntry,
    JournalLine,
    LegalEntity,
    RoleMapping,
)
from psa.kernel import errors
from psa.kernel.money import MAX_DECIMALS, round_money

ZERO = Decimal(0)
_AMOUNT = DecimalField(max_digits=21, decimal_places=MAX_DECIMALS)
_ZERO = Value(ZERO, output_field=_AMOUNT)


def _sum(expr: Any, **filters: Any) -> Coalesce:
    return Coalesce(Sum(expr, filter=Q(**filters) if filters else None), _ZERO)


@dataclass(frozen=True)
class TrialBalanceRow:
    account_id: int
    code: str
    name: str
    type: str
    debit: Decimal
    credit: Decimal

    @property
    def balance(self) -> Decimal:
        """Signed the natural way for the account's type (assets: debit minus credit)."""
        net = self.debit - self.credit
        return net if self.type in DEBIT_NORMAL else -net


def trial_balance(
    *, legal_entity: LegalEntity, as_of: dt.date, since: dt.date | None = None
) -> list[TrialBalanceRow]:
    """Debit and credit totals per account through ``as_of`` (optionally from ``since``)."""
    lines = JournalLine.objects.filter(legal_entity=legal_entity, date__lte=as_of)
    if since:
        lines = lines.filter(date__gte=since)
    totals = {
        row["account_id"]: row
        for row in lines.values("account_id").annotate(dr=Sum("debit"), cr=Sum("credit"))
    }
    accounts = Account.objects.filter(pk__in=totals.keys()).order_by("code")
    return [
        TrialBalanceRow(
            account_id=a.pk,
            code=a.code,
            name=a.name,
            type=a.type,
            debit=totals[a.pk]["dr"],
            credit=totals[a.pk]["cr"],
        )
        for a in accounts
    ]


def balances_by_role(*, legal_entity: LegalEntity, as_of: dt.date) -> dict[str, Decimal]:
    """Net debit balance of the account behind each role (for worked examples and pages)."""
    rows = trial_balance(legal_entity=legal_entity, as_of=as_of)
    by_account = {row.account_id: row.debit - row.credit for row in rows}
    return {
        role: by_account.get(account_id, ZERO)
        for role, account_id in RoleMapping.objects.filter(legal_entity=legal_entity).values_list(
            "role", "account_id"
        )
    }


def profit_and_loss(
    *, legal_entity: LegalEntity, start: dt.date, end: dt.date, by: str
) -> list[dict[str, Any]]:
    """Income, expense and profit per ``by`` ("project_id" or "customer_id") for a period."""
    if by not in ("project_id", "customer_id"):
        raise ValueError(by)
    rows = (
        JournalLine.objects.filter(
            legal_entity=legal_entity,
            date__gte=start,
            date__lte=end,
            account__type__in=[AccountType.INCOME, AccountType.EXPENSE],
        )
        .values(by)
        .annotate(
            income=_sum(F("credit") - F("debit"), account__type=AccountType.INCOME),
            expense=_sum(F("debit") - F("credit"), account__type=AccountType.EXPENSE),
        )
        .order_by(by)
    )
    return [{**r, "key": r[by], "profit": r["income"] - r["expense"]} for r in rows]


def balance_sheet(*, legal_entity: LegalEntity, as_of: dt.date) -> dict[str, Any]:
    """Assets = liabilities + equity, where equity includes the result to date."""
    rows = trial_balance(legal_entity=legal_entity, as_of=as_of)
    sections: dict[str, list[TrialBalanceRow]] = {t: [] for t in AccountType.values}
    for row in rows:
        sections[row.type].append(row)
    total = {t: sum((r.balance for r in rs), ZERO) for t, rs in sections.items()}
    result = total[AccountType.INCOME] - total[AccountType.EXPENSE]
    return {
        "assets": sections[AccountType.ASSET],
        "liabilities": sections[AccountType.LIABILITY],
        "equity": sections[AccountType.EQUITY],
        "result": result,
        "total_assets": total[AccountType.ASSET],
        "total_liabilities_and_equity": total[AccountType.LIABILITY]
        + total[AccountType.EQUITY]
        + result,
    }


def general_ledger(
    *, account: Account, start: dt.date, end: dt.date
) -> tuple[Decimal, QuerySet[JournalLine]]:
    """Opening balance (debit - credit) and the account's lines in the period, with sources."""
    opening = JournalLine.objects.filter(account=account, date__lt=start).aggregate(
        b=_sum(F("debit") - F("credit"))
    )["b"]
    lines = (
        JournalLine.objects.filter(account=account, date__gte=start, date__lte=end)
        .select_related("entry")
        .order_by("date", "entry_id", "id")
    )
    return opening, lines


def document_receivable(*, legal_entity: LegalEntity, document: str) -> tuple[Decimal, Decimal]:
    """What a document still owes on the receivable account: (transaction currency, functional)."""
    ar_account = RoleMapping.objects.filter(
        legal_entity=legal_entity, role="accounts_receivable"
    ).values("account_id")
    row = JournalLine.objects.filter(
        legal_entity=legal_entity, account_id__in=ar_account, document=document
    ).aggregate(txn=_sum("amount_currency"), functional=_sum(F("debit") - F("credit")))
    return row["txn"], row["functional"]


def prepayment_carrying(
    *,
    legal_entity: LegalEntity,
    customer_id: int,
    currency: str,
    amount: Decimal,
    excluding_source: tuple[str, str] | None = None,
) -> Decimal | None:
    """The functional amount ``amount`` of a customer's prepayments and credit in ``currency``
    is held at: its share of what the account carries for them (average cost), all of it when
    ``amount`` uses everything up, so the account clears to zero in both currencies. None when
    nothing is held (post at the day's rate). ``excluding_source``: an entry not to count (the
    issuing invoice's own top-up)."""
    account = RoleMapping.objects.filter(
        legal_entity=legal_entity, role="customer_prepayments"
    ).values("account_id")
    lines = JournalLine.objects.filter(
        legal_entity=legal_entity, account_id__in=account, customer_id=customer_id,
        currency=currency,
    )  # fmt: skip
    if excluding_source:
        lines = lines.exclude(
            entry__source_type=excluding_source[0], entry__source_id=excluding_source[1]
        )
    row = lines.aggregate(txn=_sum("amount_currency"), functional=_sum(F("credit") - F("debit")))
    held, carried = -row["txn"], row["functional"]
    if held <= 0 or carried <= 0:
        return None
    if amount >= held:
        return carried
    return round_money(carried * amount / held, legal_entity.functional_currency)


def role_unmapped_entities(*, role: str, account_type: str) -> list[str]:
    """Codes of the legal entities with a chart whose ``role`` is not an active account of
    ``account_type``: where a posting to the role would fail or land on the wrong account."""
    mapped = RoleMapping.objects.filter(
        role=role, account__type=account_type, account__is_active=True
    ).values("legal_entity_id")
    return list(
        LegalEntity.objects.filter(role_mappings__isnull=False)
        .exclude(pk__in=mapped)
        .distinct()
        .order_by("code")
        .values_list("code", flat=True)
    )


AGING_BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


def ar_aging(*, legal_entity: LegalEntity, as_of: dt.date) -> list[dict[str, Any]]:
    """Open receivables per customer in buckets by days past due, from the ledger alone.

    A document's open amount is the sum of its lines on the receivable account; its due date
    is the one on its invoice line. One grouped query per call.
    """
    ar_account = (
        RoleMapping.objects.filter(legal_entity=legal_entity, role="accounts_receivable")
        .values_list("account_id", flat=True)
        .first()
    )
    # Grouped by document alone, in the order of the (account, document) covering index: the
    # aggregate streams from the index without sorting or hashing. A document has one customer.
    docs = (
        JournalLine.objects.filter(account_id=ar_account, date__lte=as_of)
        .values("document")
        .annotate(
            customer_id=Max("customer_id"), open=_sum(F("debit") - F("credit")), due=Max("due_date")
        )
        .filter(~Q(open=0))
        .order_by()
    )
    per_customer: dict[Any, dict[str, Any]] = {}
    for doc in docs:  # one row per open document, not per line
        row = per_customer.setdefault(
            doc["customer_id"],
            {
                "customer_id": doc["customer_id"],
                **dict.fromkeys(AGING_BUCKETS, ZERO),
                "total": ZERO,
            },
        )
        days = (as_of - doc["due"]).days if doc["due"] else 0
        bucket = (
            "current" if days <= 0 else "1-30" if days <= 30 else "31-60" if days <= 60
            else "61-90" if days <= 90 else "90+"
        )  # fmt: skip
        row[bucket] += doc["open"]
        row["total"] += doc["open"]
    return sorted(per_customer.values(), key=lambda r: -r["total"])


def dso(*, legal_entity: LegalEntity, as_of: dt.date, days: int = 90) -> Decimal | None:
    """Days sales outstanding: receivables now ÷ credit sales over ``days``, times ``days``."""
    ar = RoleMapping.objects.filter(legal_entity=legal_entity, role="accounts_receivable").values(
        "account_id"
    )
    lines = JournalLine.objects.filter(legal_entity=legal_entity, account_id__in=ar)
    balance = lines.filter(date__lte=as_of).aggregate(b=_sum(F("debit") - F("credit")))["b"]
    sales = lines.filter(
        date__gt=as_of - dt.timedelta(days=days),
        date__lte=as_of,
        entry__event="invoice.issued",
    ).aggregate(s=_sum("debit"))["s"]
    if not sales:
        return None
    return (balance / sales * days).quantize(Decimal("0.1"))


def unbilled_wip(*, legal_entity: LegalEntity, as_of: dt.date) -> list[dict[str, Any]]:
    """Work in progress per project: the unbilled-revenue balance."""
    wip = RoleMapping.objects.filter(legal_entity=legal_entity, role="unbilled_revenue").values(
        "account_id"
    )
    return list(
        JournalLine.objects.filter(legal_entity=legal_entity, date__lte=as_of, account_id__in=wip)
        .values("project_id")
        .annotate(amount=_sum(F("debit") - F("credit")))
        .exclude(amount=0)
        .order_by("-amount")
    )


def entry_payload(entry: JournalEntry) -> dict[str, Any]:
    """The journal-post message: debits and credits against account codes, nothing else."""
    lines = entry.lines.select_related("account").order_by("id")
    return {
        "entry_id": entry.pk,
        "legal_entity": entry.legal_entity.code,
        "date": entry.date.isoformat(),
        "memo": entry.memo,
        "event": entry.event,
        "source": f"{entry.source_type}:{entry.source_id}",
        "reverses": entry.reverses_id,
        "currency": entry.legal_entity.functional_currency,
        "lines": [
            {
                "account": ln.account.code,
                "account_name": ln.account.name,
                "debit": str(ln.debit),
                "credit": str(ln.credit),
                "transaction_currency": ln.currency,
                "transaction_amount": str(ln.amount_currency),
                "customer_id": ln.customer_id,
                "project_id": ln.project_id,
                "description": ln.description,
            }
            for ln in lines
        ],
    }


def fx_rate_for(*, currency: str, functional: str, on: dt.date) -> Decimal | None:
    """The rate in force on ``on`` (the latest entered on or before it); 1 for the same
    currency; None when no rate is known."""

    if currency == functional:
        return Decimal(1)
    return (
        FxRate.objects.filter(currency=currency, functional_currency=functional, date__lte=on)
        .values_list("rate", flat=True)
        .first()
    )


def fx_rate_required(*, currency: str, functional: str, on: dt.date, purpose: str) -> Decimal:
    """``fx_rate_for``, or a 409 naming the missing rate (finance enters it first): the
    request was right, the books lack a rate, and nothing is written."""

    rate = fx_rate_for(currency=currency, functional=functional, on=on)
    if rate is None:
        missing = f"No {currency}\u2192{functional} rate on or before {on}"
        raise errors.Conflict(
            f"{missing}, so {purpose}; enter one first.",
            fields={"currency": f"{missing}.", "fx_rate": f"{missing}."},
            code="fx_rate_missing",
        )
    return rate

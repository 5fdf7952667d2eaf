"""Demo books: the demo firm's approved time accrued in the ledger and billed month by month
with real billing runs, so invoices, reports, exports and period close have real data.

Every posting has a deterministic source id and billing never bills an entry twice, so
seeding again adds nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import DecimalField, ExpressionWrapper, F, Sum
from django.db.models.functions import TruncWeek

from billing.models import BillingTerms, FeeKind, Invoice, RecurringFee, TaxRate
from billing.services import billing_run_execute
from billing.services.recurring import revenue_recognise
from ledger import rules
from ledger.models import FxRate, JournalEntry, LegalEntity
from ledger.services import books_setup, journal_post
from projects.models import Project
from projects.selectors import entry_rate
from psa.automation.models import AutomationPolicy
from psa.automation.policies import automation_policy_set
from psa.kernel.money import round_money
from timesheets.models import TimeEntry
from timesheets.services.accrual import time_accrual_shares_record

# Demo rates: functional units per one unit of the document currency.
FX = {
    ("EUR", "GBP"): Decimal("0.85"),
    ("USD", "GBP"): Decimal("0.79"),
    ("GBP", "EUR"): Decimal("1.17"),
}
TAX_DEFAULT = {"GB": Decimal("0.20"), "DE": Decimal("0.19")}


def _rate(currency: str, functional: str) -> Decimal:
    return Decimal(1) if currency == functional else FX.get((currency, functional), Decimal(1))


def seed_books(report: Any, today: dt.date) -> None:

    entries_before = JournalEntry.objects.count()
    entities = list(LegalEntity.objects.all())
    for entity in entities:
        books_setup(legal_entity=entity)

    for (currency, functional), rate in FX.items():
        FxRate.objects.get_or_create(
            currency=currency, functional_currency=functional,
            date=today - dt.timedelta(days=120), defaults={"rate": rate},
        )  # fmt: skip
    projects = {p.pk: p for p in Project.objects.select_related("customer", "legal_entity")}
    value = ExpressionWrapper(
        F("hours") * entry_rate(), output_field=DecimalField(max_digits=14, decimal_places=4)
    )
    weekly = (
        TimeEntry.objects.filter(
            status="approved", billable=True, project__billing_model="time_and_materials"
        )
        .annotate(week=TruncWeek("date"))
        .values("project_id", "week")
        .annotate(amount=Sum(value), ids=ArrayAgg("id"))
        .order_by("week", "project_id")
    )
    for row in weekly:
        if not row["amount"]:
            continue  # no rate in force: nothing to accrue
        project = projects[row["project_id"]]
        entity = project.legal_entity
        amount = round_money(row["amount"], project.currency)
        posted = journal_post(
            legal_entity=entity,
            event=rules.TimeApproved(
                amount=amount, currency=project.currency,
                fx_rate=_rate(project.currency, entity.functional_currency),
                customer_id=project.customer_id, project_id=project.pk,
                description=f"Approved time, week of {row['week']:%d %b}",
            ),
            date=row["week"] + dt.timedelta(days=6),
            source_type="demo-time",
            source_id=f"{project.pk}:{row['week']}",
            actor_label="demo",
        )  # fmt: skip
        # Each entry keeps its share, so billing relieves exactly this accrual.
        time_accrual_shares_record(entry_ids=row["ids"], project=project, posted=posted)
    _billing_setup(report)
    _monthly_billing(report, today)
    _automation_on(entities)

    revenue_recognise(as_of=today)
    report.bump("journal entries", JournalEntry.objects.count() - entries_before)


def _billing_setup(report: Any) -> None:
    """Every billing model in use: a retainer with overage, a subscription per device, a
    prepaid fund with its top-up rule, and a capped T&M project."""

    projects = {p.code: p for p in Project.objects.all()}
    fees = [
        ("nw-sup", FeeKind.RETAINER, "Support retainer", "6000", "1", "40", "140"),
        ("kl-ops", FeeKind.SUBSCRIPTION, "Ops dashboard, per device", "45", "20", None, None),
    ]
    for code, kind, description, price, quantity, included, overage in fees:
        project = projects.get(code)
        if project is None or project.recurring_fees.exists():
            continue
        RecurringFee.objects.create(
            project=project, kind=kind, description=description, unit_price=Decimal(price),
            quantity=Decimal(quantity), start_date=project.start_date,
            included_hours=Decimal(included) if included else None,
            overage_rate=Decimal(overage) if overage else None,
        )  # fmt: skip
        report.bump("recurring fees")
    for code, terms in [
        ("lr-shop", {"fund_threshold": Decimal(10000), "fund_top_up": Decimal(50000)}),
        ("om-cms", {"cap_amount": Decimal(30000)}),
        ("vf-risk", {"milestones_on_planned_date": True}),
    ]:
        if code in projects:
            BillingTerms.objects.get_or_create(project=projects[code], defaults=terms)


def _monthly_billing(report: Any, today: dt.date) -> None:
    """Bill each past month's approved time with real billing runs, one per entity and month,
    issued on the first of the next month. Payments come with the payments area; until then
    the invoices stay open, and the aging shows them by age."""

    for entity in LegalEntity.objects.all():
        TaxRate.objects.get_or_create(
            legal_entity=entity, is_default=True,
            defaults={"name": f"VAT {TAX_DEFAULT[entity.country] * 100:.0f} %",
                      "rate": TAX_DEFAULT[entity.country]},
        )  # fmt: skip
    first = (
        TimeEntry.objects.filter(status="approved")
        .order_by("date")
        .values_list("date", flat=True)
        .first()
    )
    if first is None:
        return
    before = Invoice.objects.count()
    month = first.replace(day=1)
    this_month = today.replace(day=1)
    while month < this_month:
        month_end = (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        for entity in LegalEntity.objects.order_by("code"):
            billing_run_execute(
                legal_entity=entity, period_end=month_end, actor_label="demo", issue=True,
                today=month_end + dt.timedelta(days=1),
            )  # fmt: skip
        month = month_end + dt.timedelta(days=1)
    report.bump("invoices", Invoice.objects.count() - before)


def _automation_on(entities: list) -> None:
    """The demo firm runs touch-free: every switch on, monthly billing on the 1st, drafts
    over 60,000 kept for review. Left alone if finance changed it since."""

    for entity in entities:
        if AutomationPolicy.objects.filter(
            legal_entity=entity, customer__isnull=True, project__isnull=True
        ).exists():
            continue
        automation_policy_set(
            legal_entity=entity, actor=None,
            values={"auto_approve": "on", "release_milestones": "on", "invoicing": "monthly",
                    "invoice_day": "1", "auto_issue": "on", "review_above": "60000",
                    "auto_send": "on", "autopay": "on", "dunning": "on"},
        )  # fmt: skip

"""Demo books: the demo firm's approved time, invoices, payments and payouts, posted to the
ledger through its services, so the reports, exports and period close have real data.

Until billing lands, invoices here are ledger events only (one per project and month). Every
posting has a deterministic source id, so seeding again posts nothing twice.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, Sum
from django.db.models.functions import TruncMonth, TruncWeek

from ledger import rules
from ledger.services import books_setup, journal_post
from psa.money import round_money

# Demo rates: functional units per one unit of the document currency.
FX = {
    ("EUR", "GBP"): Decimal("0.85"),
    ("USD", "GBP"): Decimal("0.79"),
    ("GBP", "EUR"): Decimal("1.17"),
}
TAX = {("GB", "domestic"): Decimal("0.20"), ("DE", "domestic"): Decimal("0.19")}
CARD_FEE = (Decimal("0.029"), Decimal("0.30"))


def _rate(currency: str, functional: str, drift: Decimal = Decimal(0)) -> Decimal:
    if currency == functional:
        return Decimal(1)
    return FX.get((currency, functional), Decimal(1)) + drift


def seed_books(report: Any, today: dt.date) -> None:
    from ledger.models import JournalEntry, LegalEntity
    from projects.models import Project
    from projects.selectors import entry_rate
    from timesheets.models import TimeEntry

    entries_before = JournalEntry.objects.count()
    entities = list(LegalEntity.objects.all())
    for entity in entities:
        books_setup(legal_entity=entity)
    from ledger.models import FxRate

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
        TimeEntry.objects.filter(status="approved", billable=True)
        .annotate(week=TruncWeek("date"))
        .values("project_id", "week")
        .annotate(amount=Sum(value))
        .order_by("week", "project_id")
    )
    for row in weekly:
        if not row["amount"]:
            continue  # no rate in force: nothing to accrue
        project = projects[row["project_id"]]
        entity = project.legal_entity
        amount = round_money(row["amount"], project.currency)
        journal_post(
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
    _invoices_and_payments(today, projects, value)
    report.bump("journal entries", JournalEntry.objects.count() - entries_before)


def _invoices_and_payments(today: dt.date, projects: dict, value: Any) -> None:
    from timesheets.models import TimeEntry

    this_month = today.replace(day=1)
    monthly = (
        TimeEntry.objects.filter(status="approved", billable=True, date__lt=this_month)
        .annotate(month=TruncMonth("date"))
        .values("project_id", "month")
        .annotate(amount=Sum(value))
        .order_by("month", "project_id")
    )
    for i, row in enumerate(monthly):
        if not row["amount"]:
            continue
        project = projects[row["project_id"]]
        entity, customer = project.legal_entity, project.customer
        cur, functional = project.currency, entity.functional_currency
        net = round_money(row["amount"], cur)
        tax = round_money(net * TAX.get((customer.country, customer.tax_treatment), 0), cur)
        month_end = (row["month"] + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        issued = month_end + dt.timedelta(days=1)
        due = issued + dt.timedelta(days=customer.payment_terms_days)
        document = f"invoice:demo-{project.code}-{row['month']:%Y%m}"
        dims = {"currency": cur, "customer_id": customer.pk, "project_id": project.pk}
        rate = _rate(cur, functional)
        journal_post(
            legal_entity=entity,
            event=rules.InvoiceIssued(
                parts=(rules.InvoicePart(kind="time", net=net, tax=tax, accrued=net),),
                document=document, due_date=due, fx_rate=rate,
                description=f"{project.name}, {row['month']:%B %Y}", **dims,
            ),
            date=issued, source_type="demo-invoice", source_id=document, actor_label="demo",
        )  # fmt: skip
        # Most customers pay a few days early; one always pays late; one has not paid at all.
        paid_on = due - dt.timedelta(days=3 + i % 5)
        if customer.name.startswith("Halcyon"):
            paid_on = due + dt.timedelta(days=24)
        if customer.name.startswith("Kestrel") or paid_on >= today - dt.timedelta(days=2):
            continue  # not paid yet: it shows in the aging
        gross = net + tax
        by_card = i % 3 == 0
        fee = round_money(gross * CARD_FEE[0] + CARD_FEE[1], cur) if by_card else Decimal(0)
        # Paid at a slightly different rate than invoiced: an FX difference for foreign ones.
        pay_rate = _rate(cur, functional, Decimal("0.01") if rate != 1 else Decimal(0))
        journal_post(
            legal_entity=entity,
            event=rules.PaymentReceived(
                amount=gross, fee=fee, via="stripe" if by_card else "bank", document=document,
                fx_rate=pay_rate, receivable_rate=rate, description=f"Payment of {document}",
                **dims,
            ),
            date=paid_on, source_type="demo-payment", source_id=document, actor_label="demo",
        )  # fmt: skip
        if by_card:
            journal_post(
                legal_entity=entity,
                event=rules.PayoutPaid(
                    amount=gross - fee, currency=cur, fx_rate=pay_rate,
                    description=f"Stripe payout for {document}",
                ),
                date=paid_on + dt.timedelta(days=2), source_type="demo-payout",
                source_id=document, actor_label="demo",
            )  # fmt: skip

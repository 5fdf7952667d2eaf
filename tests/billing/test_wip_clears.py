"""WIP clears to zero: every entry keeps the accrual approval posted for it, in the project's
currency and the functional one, and billing relieves exactly that. Rounding per approval
batch, an exchange rate or a rate card that moved between approval and invoicing leave nothing
in unbilled revenue: the FX difference is realised FX, the rate difference a write-up/-down.
Balances are by role, debit minus credit, in the entity's functional currency (GBP)."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from billing.models import Invoice, InvoiceLine
from billing.services import billing_run_execute, invoice_void
from ledger.models import FxRate
from ledger.selectors import balances_by_role, trial_balance
from projects.models import RateCard
from tests.crm.factories import CustomerFactory
from tests.projects.factories import AssignmentFactory, ProjectFactory, RateCardFactory
from tests.timesheets.factories import TimeEntryFactory
from timesheets.models import TimeEntry
from timesheets.services.approvals import week_approve
from timesheets.services.weeks import week_submit

pytestmark = pytest.mark.django_db
MONDAY = dt.date(2026, 11, 16)
HOURS = [D("7.25"), D("3.5"), D("6.75"), D("1.25"), D("5.5")]
FAR = dt.date(2030, 1, 1)


def _rate(currency, rate, on):
    FxRate.objects.update_or_create(
        currency=currency, functional_currency="GBP", date=on, defaults={"rate": D(rate)}
    )


def _project(project_manager, consultant, currency, hourly, fx):
    customer = CustomerFactory(currency=currency)
    project = ProjectFactory(customer=customer, manager=project_manager)
    AssignmentFactory(project=project, person=consultant)
    RateCardFactory(project=project, rate=D(hourly), currency=currency)
    if currency != "GBP":
        _rate(currency, fx, timezone.localdate() - dt.timedelta(days=30))
    return project


def _approve_day_by_day(project, consultant, project_manager):
    """One approval batch per day: each batch's accrual is rounded on its own."""
    for day, hours in enumerate(HOURS):
        TimeEntryFactory(
            person=consultant, project=project, date=MONDAY + dt.timedelta(days=day), hours=hours
        )
    week_submit(actor=consultant, person=consultant, week_start=MONDAY)
    for day in range(len(HOURS)):
        week_approve(
            actor=project_manager,
            person=consultant,
            week_start=MONDAY,
            day=MONDAY + dt.timedelta(days=day),
        )


def _bill(project):
    billing_run_execute(
        legal_entity=project.legal_entity,
        period_end=MONDAY + dt.timedelta(days=6),
        actor_label="t",
        issue=True,
    )
    return Invoice.objects.get(kind="invoice")


def tb(entity):
    """Non-zero balances by role, after checking that debits equal credits."""
    rows = trial_balance(legal_entity=entity, as_of=FAR)
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows)
    return {k: v for k, v in balances_by_role(legal_entity=entity, as_of=FAR).items() if v}


def test_entries_keep_their_share_of_each_batch_accrual(project_manager, consultant):
    project = _project(project_manager, consultant, "EUR", "97.35", "0.8537")
    _approve_day_by_day(project, consultant, project_manager)
    entries = list(TimeEntry.objects.filter(project=project))
    assert [e.accrued_amount for e in entries] == [
        D("705.79"), D("340.73"), D("657.11"), D("121.69"), D("535.43")
    ]  # fmt: skip
    # Each batch converted once: 705.79 x 0.8537 = 602.532... -> 602.53, and so on.
    assert (
        sum(e.accrued_functional for e in entries) == tb(project.legal_entity)["unbilled_revenue"]
    )


@pytest.mark.parametrize(
    ("currency", "hourly", "fx"), [("EUR", "97.35", "0.8537"), ("JPY", "12345", "0.0052")]
)
def test_wip_is_exactly_zero_after_billing_everything_approved_in_batches(
    project_manager, consultant, currency, hourly, fx
):
    project = _project(project_manager, consultant, currency, hourly, fx)
    _approve_day_by_day(project, consultant, project_manager)
    entity = project.legal_entity
    accrued = tb(entity)["unbilled_revenue"]
    assert accrued > 0

    invoice = _bill(project)
    assert invoice.fx_rate == D(fx)
    books = tb(entity)
    assert "unbilled_revenue" not in books  # 0.00 GBP: not 0.03, not 0.01
    assert "fx_gain_loss" not in books  # same rate at both ends: no FX
    # Revenue is what was accrued plus any rounding the line netted differently.
    assert books["accounts_receivable"] == -books["revenue_services"] - books.get(
        "rounding", D(0)
    ) - books.get("tax_payable", D(0))


def test_an_fx_move_between_approval_and_invoice_is_realised_fx_not_wip(
    project_manager, consultant, finance
):
    project = _project(project_manager, consultant, "EUR", "97.35", "0.8537")
    _approve_day_by_day(project, consultant, project_manager)
    entity = project.legal_entity
    # Five batches, 2,360.75 EUR, each converted once: 602.53 + 290.88 + 560.97 + 103.89 +
    # 457.10 GBP.
    accrued_gbp = tb(entity)["unbilled_revenue"]
    assert accrued_gbp == D("2015.37")
    _rate("EUR", "0.9000", timezone.localdate())

    invoice = _bill(project)
    assert invoice.fx_rate == D("0.9000")
    assert invoice.subtotal == D("2360.74")
    books = tb(entity)
    assert "unbilled_revenue" not in books
    # WIP leaves at its 2,015.37 GBP; the 2,360.75 EUR it stood for are worth 2,124.68 now:
    # a realised FX gain of 109.31 GBP.
    assert books["fx_gain_loss"] == D("-109.31")
    assert books["accounts_receivable"] == D("2124.67")  # 2,360.74 EUR x 0.90
    # The line nets 24.25 h x 97.35 = 2,360.74 EUR: a 0.01 EUR write-down of revenue.
    assert books["revenue_services"] == -accrued_gbp + D("0.01")

    # A credit note puts the WIP back at exactly what was accrued, and undoes the FX.
    invoice_void(invoice=invoice, actor=finance, reason="Wrong PO")
    books = tb(entity)
    assert books["unbilled_revenue"] == accrued_gbp
    assert "fx_gain_loss" not in books
    assert "accounts_receivable" not in books


def test_a_rate_card_change_between_approval_and_invoice_is_a_write_up(
    project, consultant, project_manager
):
    RateCardFactory(project=project, rate=D("100.00"), currency="GBP")
    _approve_day_by_day(project, consultant, project_manager)
    entity = project.legal_entity
    assert tb(entity)["unbilled_revenue"] == D("2425.00")
    RateCard.objects.filter(project=project).update(rate=D("110.00"))

    invoice = _bill(project)
    assert invoice.subtotal == D("2667.50")
    line = InvoiceLine.objects.get(invoice=invoice, kind="time")
    assert (line.accrued, line.accrued_functional) == (D("2425.00"), D("2425.00"))
    books = tb(entity)
    assert "unbilled_revenue" not in books
    assert books["revenue_services"] == -invoice.subtotal
    assert books["accounts_receivable"] == invoice.total

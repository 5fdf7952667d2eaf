"""From approval to invoice, the books stay right: approval accrues WIP at the resolved rate,
the invoice moves it to receivables, and a credit note puts it back."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from billing.models import Invoice, TaxRate
from billing.services import billing_run_execute, invoice_void
from ledger.models import JournalEntry
from ledger.selectors import balances_by_role
from psa.kernel.models import WebhookDelivery
from psa.kernel.webhooks import webhook_subscribe
from tests.projects.factories import RateCardFactory
from tests.timesheets.factories import ApprovalPolicyFactory, TimeEntryFactory
from timesheets.services.approvals import week_approve, week_auto_approve
from timesheets.services.weeks import week_submit

pytestmark = pytest.mark.django_db
MONDAY = dt.date(2026, 11, 16)


def _balances(entity):
    return {
        k: v
        for k, v in balances_by_role(legal_entity=entity, as_of=dt.date(2030, 1, 1)).items()
        if v
    }


def test_approval_accrues_wip_and_invoicing_moves_it_to_receivables(
    project, consultant, project_manager, finance
):
    entity = project.legal_entity
    TaxRate.objects.create(legal_entity=entity, name="VAT", rate=D("0.20"), is_default=True)
    RateCardFactory(project=project, rate=D("120.00"), currency=project.currency)
    for day in range(5):
        TimeEntryFactory(
            person=consultant, project=project, date=MONDAY + dt.timedelta(days=day), hours=D("7.5")
        )
    webhook_subscribe(
        owner=finance, url="https://hooks.example.test/psa", events=["timesheet.approved"]
    )

    week_submit(actor=consultant, person=consultant, week_start=MONDAY)
    assert week_approve(actor=project_manager, person=consultant, week_start=MONDAY) == 5
    assert _balances(entity) == {
        "unbilled_revenue": D("4500.00"),
        "revenue_services": D("-4500.00"),
    }
    assert week_approve(actor=project_manager, person=consultant, week_start=MONDAY) == 0
    assert JournalEntry.objects.filter(event="time.approved").count() == 1
    assert WebhookDelivery.objects.get().topic == "timesheet.approved"

    billing_run_execute(
        legal_entity=entity, period_end=MONDAY + dt.timedelta(days=6), actor_label="t", issue=True
    )
    assert _balances(entity) == {
        "accounts_receivable": D("5400.00"),
        "tax_payable": D("-900.00"),
        "revenue_services": D("-4500.00"),
    }
    credit = invoice_void(
        invoice=Invoice.objects.get(kind="invoice"), actor=finance, reason="Wrong PO"
    )
    assert credit.total == D("-5400.00")
    assert _balances(entity) == {
        "unbilled_revenue": D("4500.00"),
        "revenue_services": D("-4500.00"),
    }


def test_policy_approval_accrues_too(project, consultant):
    RateCardFactory(project=project, rate=D("100.00"), currency=project.currency)
    ApprovalPolicyFactory(project=project)
    for day in range(2):
        TimeEntryFactory(
            person=consultant,
            project=project,
            date=MONDAY + dt.timedelta(days=day),
            hours=D("8"),
            note="Build",
        )
    week_submit(actor=consultant, person=consultant, week_start=MONDAY)
    decisions = week_auto_approve(person=consultant, week_start=MONDAY, now=timezone.now())
    assert [d.approved for d in decisions] == [True]
    entry = JournalEntry.objects.get(event="time.approved")
    assert entry.actor_label == "policy:auto-approve"
    assert _balances(project.legal_entity)["unbilled_revenue"] == D("1600.00")
    # Running the policy again approves and posts nothing more.
    week_auto_approve(person=consultant, week_start=MONDAY, now=timezone.now())
    assert JournalEntry.objects.filter(event="time.approved").count() == 1


def test_non_billable_or_unpriced_time_accrues_nothing(project, consultant, project_manager):
    TimeEntryFactory(person=consultant, project=project, date=MONDAY, billable=False)
    week_submit(actor=consultant, person=consultant, week_start=MONDAY)
    week_approve(actor=project_manager, person=consultant, week_start=MONDAY)
    assert not JournalEntry.objects.exists()
    assert not Invoice.objects.exists()

# ruff: noqa: F811 - fixtures imported from payment_fixtures
"""Zero and negative invoice totals, worked through the touch-free cycle.

A T&M project capped at 4,000.00 GBP bills a first week (4,000.00 net) and is paid; the next
week is written down in full, so the run's invoice totals 0.00. That invoice is settled at
issue: paid, nothing due, its write-down in the books, no reminder at any dunning level, no
late fee, no autopay attempt, and its e-mail, PDF and pay page say "Nothing to pay". A draft
whose total is below zero is held for review and ``invoice_issue`` refuses it. An ordinary
invoice is unchanged.
"""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core import mail
from django.template.loader import render_to_string
from django.utils import timezone

from billing.models import (
    DunningLevel,
    DunningReminder,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    PaymentAttempt,
    PaymentMethod,
    StripeCustomer,
    TaxRate,
)
from billing.selectors import due, invoice_document
from billing.services import billing_run_execute, invoice_issue, sources
from billing.services.dunning import dunning_level_save, dunning_levels_default
from billing.services.payments import payment_record
from billing.services.recurring import billing_terms_set
from ledger.models import JournalEntry
from ledger.selectors import balances_by_role
from psa.automation import cycle
from psa.automation.jobs import job_run
from psa.automation.policies import automation_policy_set
from psa.automation.sweeps import collect_due, dunning_run
from psa.kernel import errors
from psa.kernel.models import AuditEvent
from tests.api.conftest import as_user
from tests.billing.payment_fixtures import (  # noqa: F401
    DUE,
    ISSUED_ON,
    customer,
    eager,
    fake_stripe,
    firm,
)
from tests.projects.factories import ProjectFactory, RateCardFactory
from tests.timesheets.factories import TimeEntryFactory
from timesheets.services.accrual import time_approved_accrue

pytestmark = pytest.mark.django_db

ALL_ON = {
    "auto_approve": "on",
    "invoicing": "monthly",
    "invoice_day": "1",
    "auto_issue": "on",
    "auto_send": "on",
    "autopay": "on",
    "dunning": "on",
}
WEEK_1 = ISSUED_ON - dt.timedelta(days=21)
WEEK_2 = ISSUED_ON - dt.timedelta(days=10)
# Every dunning level's day (-3, 0, +7, +14, +30 from the due date).
LEVEL_DAYS = [DUE + dt.timedelta(days=d) for d in (-3, 0, 7, 14, 30)]


@pytest.fixture
def vat(firm):
    return TaxRate.objects.create(legal_entity=firm, name="VAT", rate=D("0.20"), is_default=True)


@pytest.fixture
def capped(customer, vat):
    project = ProjectFactory(customer=customer, code="erp", billing_model="time_and_materials")
    RateCardFactory(project=project, rate=D("100.00"), currency="GBP")
    billing_terms_set(project=project, actor=None, cap_amount="4000")
    return project


def week_of_time(project, start):
    """A week of approved time, its WIP accrued as approval does."""
    entries = [
        TimeEntryFactory(
            project=project, date=start + dt.timedelta(days=i), hours=D("8"), status="approved"
        )
        for i in range(5)
    ]
    time_approved_accrue(entry_ids=[e.pk for e in entries])


def cycle_day(firm, period_end, capture):
    """What beat does: an automated billing run, then issue-and-send (tasks run eagerly)."""
    billing_run_execute(
        legal_entity=firm, period_end=period_end, actor_label="automation", today=ISSUED_ON
    )
    with capture(execute=True), job_run("issue_and_send") as run:
        cycle.issue_and_send(today=ISSUED_ON, run=run)


@pytest.fixture
def dunning_with_late_fee(firm, finance):
    dunning_levels_default(legal_entity=firm)
    for level in DunningLevel.objects.filter(legal_entity=firm):
        dunning_level_save(
            legal_entity=firm, actor=finance, level=level, name=level.name,
            days_from_due=level.days_from_due, subject=level.subject, body=level.body,
            late_fees={"GBP": "40.00"},
        )  # fmt: skip


@pytest.fixture
def card_on_file(customer, fake_stripe):
    StripeCustomer.objects.create(customer=customer, stripe_customer_id="cus_test_northwind")
    return PaymentMethod.objects.create(
        customer=customer, stripe_payment_method_id="pm_card_visa",
        autopay_consent_at=timezone.now(), consent_text="I authorise …",
    )  # fmt: skip


@pytest.fixture
def zero_invoice(firm, capped, eager, django_capture_on_commit_callbacks):
    """The first week bills 4,000.00 + VAT and is paid; the second is written down to 0.00."""
    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON)
    week_of_time(capped, WEEK_1)
    cycle_day(firm, WEEK_1 + dt.timedelta(days=6), django_capture_on_commit_callbacks)
    first = Invoice.objects.get()
    assert (first.status, first.total) == (InvoiceStatus.ISSUED, D("4800.00"))
    payment_record(invoice=first, amount="4800.00")
    mail.outbox.clear()
    week_of_time(capped, WEEK_2)
    cycle_day(firm, ISSUED_ON - dt.timedelta(days=1), django_capture_on_commit_callbacks)
    return Invoice.objects.exclude(pk=first.pk).get()


def test_a_capped_run_of_zero_is_issued_and_settled_at_once_with_its_write_down_booked(
    firm, zero_invoice
):
    time, write_down = zero_invoice.lines.all()
    assert (time.net, write_down.kind, write_down.net) == (
        D("4000.00"),
        LineKind.WRITE_DOWN,
        D("-4000.00"),
    )
    assert (zero_invoice.total, zero_invoice.number) == (D("0.00"), "INV-2026-00002")
    assert (zero_invoice.status, zero_invoice.amount_due) == (InvoiceStatus.PAID, D("0.00"))
    settled = AuditEvent.objects.get(action="invoice.settled", object_id=str(zero_invoice.pk))
    assert settled.reason == "Nothing to pay: the total is 0.00 GBP; settled at issue."
    # Books: the invoice is posted (WIP relieved at the 4,000 accrued, the write-down off
    # revenue) and the receivable stays at 0 (the first invoice is paid). All the time accrued
    # 8,000 of WIP and all of it was relieved; revenue is the 4,000 billed.
    assert JournalEntry.objects.filter(
        source_type="invoice", source_id=str(zero_invoice.pk)
    ).exists()
    books = balances_by_role(legal_entity=firm, as_of=DUE + dt.timedelta(days=60))
    assert books["accounts_receivable"] == D("0.00")
    assert books["unbilled_revenue"] == D("0.00")
    assert books["revenue_services"] == D("-4000.00")


def test_a_zero_invoice_is_mailed_as_a_receipt_without_a_pay_link(zero_invoice):
    (receipt,) = mail.outbox
    assert receipt.to == ["ap@northwind.test"]
    assert "nothing to pay" in receipt.body.lower() and "receipt" in receipt.body
    assert "/pay/" not in receipt.body and zero_invoice.pay_token not in receipt.body
    assert "bank transfer" not in receipt.body
    pdf_html = render_to_string("billing/invoice_pdf.html", invoice_document(zero_invoice))
    assert "Nothing to pay" in pdf_html
    assert zero_invoice.pay_token not in pdf_html and "Pay online" not in pdf_html


def test_a_zero_invoice_gets_no_reminder_no_late_fee_and_no_autopay(
    zero_invoice, dunning_with_late_fee, card_on_file, fake_stripe,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    for day in LEVEL_DAYS:
        assert due.dunning_due(today=day) == []
        assert due.autopay_candidates(today=day) == []
        with django_capture_on_commit_callbacks(execute=True):
            dunning_run(today=day)
            collect_due(today=day)
    assert not DunningReminder.objects.exists()
    assert Invoice.objects.count() == 2  # no late-fee invoice
    assert not PaymentAttempt.objects.exists()
    assert fake_stripe.calls("POST", "/v1/payment_intents") == []
    assert mail.outbox[1:] == []  # the receipt only


def test_a_zero_invoice_left_issued_by_the_old_code_is_neither_dunned_nor_charged(
    zero_invoice, dunning_with_late_fee, card_on_file, fake_stripe
):
    Invoice.objects.filter(pk=zero_invoice.pk).update(status=InvoiceStatus.ISSUED)
    for day in LEVEL_DAYS:
        assert due.dunning_due(today=day) == []
        assert due.autopay_candidates(today=day) == []
    assert not DunningReminder.objects.exists() and not PaymentAttempt.objects.exists()


def test_the_pay_page_shows_a_zero_invoice_as_settled(client, zero_invoice, fake_stripe):
    page = client.get(f"/pay/{zero_invoice.pay_token}/").content.decode()
    assert 'data-testid="pay-status">paid<' in page
    assert "Nothing to pay" in page
    assert "Pay by card" not in page and "Pay by bank transfer" not in page


# --- negative totals --------------------------------------------------------------------------


def _credit_line(invoice, net):
    """A credit a person keyed onto the draft (a goodwill credit): the total goes below 0."""
    InvoiceLine.objects.create(
        invoice=invoice, position=99, kind=LineKind.ADJUSTMENT, description="Goodwill credit",
        quantity=D(1), unit_price=net, net=net, tax=net * D("0.2"), tax_rate_value=D("0.2"),
    )  # fmt: skip
    Invoice.objects.filter(pk=invoice.pk).update(
        subtotal=invoice.subtotal + net,
        tax_total=invoice.tax_total + net * D("0.2"),
        total=invoice.total + net * D("1.2"),
    )
    invoice.refresh_from_db()
    return invoice


def test_a_negative_draft_is_held_by_the_cycle_and_refused_by_invoice_issue(
    firm, capped, django_capture_on_commit_callbacks
):
    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON)
    week_of_time(capped, WEEK_1)
    billing_run_execute(
        legal_entity=firm, period_end=ISSUED_ON, actor_label="automation", today=ISSUED_ON
    )
    draft = _credit_line(Invoice.objects.get(), D("-4100.00"))
    assert draft.total == D("-120.00")
    for _ in range(2):  # twice: held, and the reason recorded once
        with job_run("issue_and_send") as run:
            cycle.issue_and_send(today=ISSUED_ON, run=run)
        draft.refresh_from_db()
        assert (draft.status, draft.number) == (InvoiceStatus.DRAFT, None)
    (held,) = AuditEvent.objects.filter(action="invoice.held_for_review")
    assert held.reason == (
        "Held for review: the total is \N{MINUS SIGN}120.00 GBP; issue a credit note instead."
    )
    with pytest.raises(errors.ValidationFailed) as refused:
        invoice_issue(invoice=draft, actor_label="test", today=ISSUED_ON)
    assert refused.value.code == "negative_total"
    assert "negative total (\N{MINUS SIGN}120.00 GBP)" in refused.value.message
    assert "credit note" in refused.value.message
    assert not JournalEntry.objects.filter(source_type="invoice").exists()


def test_the_api_refuses_to_issue_a_negative_invoice_with_a_4xx(firm, capped, finance):
    week_of_time(capped, WEEK_1)
    billing_run_execute(legal_entity=firm, period_end=ISSUED_ON, actor=finance)
    draft = _credit_line(Invoice.objects.get(), D("-4100.00"))
    response = as_user(finance).post(f"/api/v1/billing/invoices/{draft.pk}/issue/")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "negative_total" and "\N{MINUS SIGN}120.00 GBP" in error["message"]
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.DRAFT


def test_a_run_that_issues_never_issues_a_negative_invoice(firm, capped, monkeypatch):
    real = sources.time_candidates

    def with_a_credit(scope, groups):
        out = real(scope, groups)
        credit = sources.Candidate(
            customer_id=out[0].customer_id, currency="GBP", project_id=out[0].project_id,
            kind=LineKind.WRITE_DOWN, description="Write-down", quantity=D(1),
            unit_price=D("-4100.00"),
        )  # fmt: skip
        return [*out, credit]

    monkeypatch.setattr(sources, "time_candidates", with_a_credit)
    week_of_time(capped, WEEK_1)
    run = billing_run_execute(
        legal_entity=firm, period_end=ISSUED_ON, actor_label="test", issue=True, today=ISSUED_ON
    )
    draft = run.invoices.get()
    assert (draft.total, draft.status, draft.number) == (D("-120.00"), InvoiceStatus.DRAFT, None)
    held = AuditEvent.objects.get(action="invoice.held_for_review", object_id=str(draft.pk))
    assert held.reason.startswith("Held for review: the total is \N{MINUS SIGN}120.00 GBP")


# --- an ordinary invoice: unchanged -----------------------------------------------------------


def test_an_ordinary_invoice_is_issued_open_sent_with_a_pay_link_and_dunned(
    firm, capped, eager, dunning_with_late_fee, django_capture_on_commit_callbacks
):
    automation_policy_set(legal_entity=firm, actor=None, values=ALL_ON)
    week_of_time(capped, WEEK_1)
    cycle_day(firm, ISSUED_ON - dt.timedelta(days=1), django_capture_on_commit_callbacks)
    invoice = Invoice.objects.get()
    assert (invoice.status, invoice.amount_due) == (InvoiceStatus.ISSUED, D("4800.00"))
    assert not AuditEvent.objects.filter(action="invoice.settled").exists()
    (sent,) = mail.outbox
    assert f"/pay/{invoice.pay_token}/" in sent.body and "due on" in sent.body
    assert [i for i, _ in due.dunning_due(today=DUE)] == [invoice]
    assert invoice_document(invoice)["pay_url"].endswith(f"/pay/{invoice.pay_token}/")

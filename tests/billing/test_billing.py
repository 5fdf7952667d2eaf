"""Billing runs, invoice issue with gapless numbers, tax and rounding, and voiding by credit
note — with the ledger kept right at every step."""

import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from django.db import connections

from billing.models import Invoice, InvoiceStatus, TaxRate, TimeEntryBilling
from billing.services import (
    billing_run_execute,
    billing_run_preview,
    invoice_issue,
    invoice_totals_check,
    invoice_void,
    tax_summary,
)
from ledger.models import FxRate
from ledger.selectors import balances_by_role
from psa.kernel import errors
from tests.crm.factories import CustomerFactory
from tests.ledger.factories import books
from tests.projects.factories import ProjectFactory, RateCardFactory
from tests.timesheets.factories import TimeEntryFactory
from timesheets.models import TimeEntry

PERIOD_END = dt.date(2026, 11, 30)
TODAY = dt.date(2026, 12, 1)


@pytest.fixture
def firm():
    uk = books(code="uk", functional_currency="GBP", name="Acme UK")
    TaxRate.objects.create(legal_entity=uk, name="VAT 20%", rate=D("0.20"), is_default=True)
    northwind = CustomerFactory(
        legal_entity=uk, name="Northwind", currency="GBP", payment_terms_days=30
    )
    halcyon = CustomerFactory(
        legal_entity=uk, name="Halcyon", currency="EUR", country="IE",
        tax_treatment="reverse_charge", tax_id="IE6388047V",
    )  # fmt: skip
    erp = ProjectFactory(customer=northwind, code="erp", name="ERP rollout")
    portal = ProjectFactory(customer=halcyon, code="portal", name="Patient portal")
    RateCardFactory(project=erp, rate=D("120.00"), currency="GBP")
    RateCardFactory(project=portal, rate=D("99.99"), currency="EUR")
    FxRate.objects.create(
        currency="EUR", functional_currency="GBP", date=dt.date(2026, 1, 1), rate=D("0.85")
    )
    for day in range(16, 21):  # a week of 7.5 h on each
        TimeEntryFactory(
            project=erp, date=dt.date(2026, 11, day), hours=D("7.5"), status="approved"
        )
        TimeEntryFactory(
            project=portal, date=dt.date(2026, 11, day), hours=D("1.25"), status="approved"
        )
    # Not billable now: a draft, a non-billable entry, and time after the period end.
    TimeEntryFactory(project=erp, date=dt.date(2026, 11, 23), status="submitted")
    TimeEntryFactory(project=erp, date=dt.date(2026, 11, 23), status="approved", billable=False)
    TimeEntryFactory(project=erp, date=dt.date(2026, 12, 1), status="approved")
    return uk


pytestmark = pytest.mark.django_db


def test_preview_shows_each_invoice_with_priced_lines_and_writes_nothing(firm):
    preview = billing_run_preview(legal_entity=firm, period_end=PERIOD_END)
    assert [(i.customer_name, i.currency) for i in preview.invoices] == [
        ("Halcyon", "EUR"),
        ("Northwind", "GBP"),
    ]
    halcyon, northwind = preview.invoices
    (line,) = northwind.lines
    assert (line.hours, line.rate, line.net, line.tax, line.entries) == (
        D("37.50"), D("120.00"), D("4500.00"), D("900.00"), 5,
    )  # fmt: skip
    # 6.25 h x 99.99 = 624.9375 -> 624.94; reverse charge: no tax.
    assert (halcyon.lines[0].net, halcyon.tax_total) == (D("624.94"), D("0"))
    assert preview.total_entries == 10
    assert not Invoice.objects.exists()


def test_a_run_bills_each_entry_once_and_a_second_run_creates_nothing(firm):
    run = billing_run_execute(legal_entity=firm, period_end=PERIOD_END, actor_label="test")
    assert (run.invoices_created, run.entries_billed) == (2, 10)
    assert TimeEntryBilling.objects.count() == 10
    assert TimeEntry.objects.filter(billed_at__isnull=False).count() == 10
    again = billing_run_execute(legal_entity=firm, period_end=PERIOD_END, actor_label="test")
    assert (again.invoices_created, again.entries_billed) == (0, 0)
    assert Invoice.objects.count() == 2


def test_issue_numbers_gaplessly_posts_the_receivable_and_notes_reverse_charge(firm):
    billing_run_execute(legal_entity=firm, period_end=PERIOD_END, actor_label="test")
    halcyon, northwind = Invoice.objects.order_by("customer__name")
    first = invoice_issue(invoice=northwind, today=TODAY)
    second = invoice_issue(invoice=halcyon, today=TODAY)
    assert (first.number, second.number) == ("INV-2026-00001", "INV-2026-00002")
    assert first.due_date == TODAY + dt.timedelta(days=30)
    assert invoice_issue(invoice=northwind, today=TODAY).number == "INV-2026-00001"  # no-op
    assert second.reverse_charge_note.startswith("Reverse charge")
    assert "IE6388047V" in second.reverse_charge_note
    # Receivables in GBP: 5,400.00 + 624.94 EUR at 0.85 = 531.20.
    balances = balances_by_role(legal_entity=firm, as_of=TODAY)
    assert balances["accounts_receivable"] == D("5400.00") + D("531.20")
    assert balances["tax_payable"] == D("-900.00")
    for invoice in (first, second):
        assert invoice_totals_check(invoice)


def test_tax_summary_and_totals_always_agree_under_the_rounding_rule(firm):
    billing_run_execute(
        legal_entity=firm, period_end=PERIOD_END, actor_label="test", issue=True, today=TODAY
    )
    northwind = Invoice.objects.get(customer__name="Northwind")
    (row,) = tax_summary(northwind)
    assert (row["rate"], row["net"], row["tax"]) == (D("0.2000"), D("4500.00"), D("900.00"))
    assert northwind.total == row["net"] + row["tax"] == D("5400.00")


def test_voiding_issues_a_credit_note_and_releases_the_time_for_rebilling(firm, finance):
    billing_run_execute(
        legal_entity=firm, period_end=PERIOD_END, actor_label="test", issue=True, today=TODAY
    )
    northwind = Invoice.objects.get(customer__name="Northwind", kind="invoice")
    with pytest.raises(errors.ValidationFailed):
        invoice_void(invoice=northwind, actor=finance, reason=" ")
    credit = invoice_void(invoice=northwind, actor=finance, reason="Wrong rate", today=TODAY)
    assert credit.number == "CN-2026-00001"
    assert (credit.total, credit.credits_id) == (D("-5400.00"), northwind.pk)
    assert Invoice.objects.get(pk=northwind.pk).status == InvoiceStatus.VOID
    assert invoice_void(invoice=northwind, actor=finance, reason="again", today=TODAY) == credit
    # The receivable of that invoice is gone; its time can be billed again.
    balances = balances_by_role(legal_entity=firm, as_of=TODAY)
    assert balances["accounts_receivable"] == D("531.20")
    rerun = billing_run_execute(
        legal_entity=firm, period_end=PERIOD_END, actor_label="test", issue=True, today=TODAY
    )
    assert (rerun.invoices_created, rerun.entries_billed) == (1, 5)
    rebilled = Invoice.objects.filter(customer__name="Northwind", kind="invoice").latest("id")
    assert rebilled.number == "INV-2026-00003"
    assert TimeEntryBilling.objects.filter(released_at__isnull=True).count() == 10


def test_a_paid_or_credited_document_cannot_be_voided(firm, finance):
    billing_run_execute(
        legal_entity=firm, period_end=PERIOD_END, actor_label="test", issue=True, today=TODAY
    )
    invoice = Invoice.objects.get(customer__name="Northwind")
    Invoice.objects.filter(pk=invoice.pk).update(status="paid")
    with pytest.raises(errors.Conflict):
        invoice_void(invoice=invoice, actor=finance, reason="late")


def test_a_missing_exchange_rate_is_a_clear_error_and_nothing_is_issued(firm):
    FxRate.objects.all().delete()
    billing_run_execute(legal_entity=firm, period_end=PERIOD_END, actor_label="test")
    halcyon = Invoice.objects.get(customer__name="Halcyon")
    with pytest.raises(errors.Conflict) as caught:
        invoice_issue(invoice=halcyon, today=TODAY)
    assert caught.value.code == "fx_rate_missing"
    halcyon.refresh_from_db()
    assert (halcyon.status, halcyon.number) == ("draft", None)


def _in_threads(fn, n=2):
    barrier = threading.Barrier(n)
    results, failures = [], []

    def worker():
        try:
            barrier.wait()
            results.append(fn())
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    return results


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_bill_everything_exactly_once(firm):
    runs = _in_threads(
        lambda: billing_run_execute(legal_entity=firm, period_end=PERIOD_END, actor_label="t")
    )
    assert sorted(r.entries_billed for r in runs) == [0, 10]
    assert Invoice.objects.count() == 2
    assert TimeEntryBilling.objects.count() == 10


@pytest.mark.django_db(transaction=True)
def test_concurrent_issues_get_contiguous_unique_numbers(firm):
    customers = [CustomerFactory(legal_entity=firm, currency="GBP") for _ in range(6)]
    for customer in customers:
        project = ProjectFactory(customer=customer)
        RateCardFactory(project=project, rate=D("10.00"))
        TimeEntryFactory(project=project, date=dt.date(2026, 11, 2), status="approved")
    billing_run_execute(legal_entity=firm, period_end=PERIOD_END, actor_label="t")
    drafts = list(Invoice.objects.filter(status="draft"))
    pending = list(drafts)
    lock = threading.Lock()

    def issue_some():
        issued = []
        while True:
            with lock:
                if not pending:
                    return issued
                invoice = pending.pop()
            issued.append(invoice_issue(invoice=invoice, today=TODAY).number)

    numbers = sorted(n for batch in _in_threads(issue_some, n=3) for n in batch)
    assert numbers == [f"INV-2026-{i:05d}" for i in range(1, len(drafts) + 1)]


@pytest.mark.parametrize(
    ("mode", "topics"),
    [
        ("invoice_line_trigger", {"invoice.lines"}),
        ("invoice_post", {"customer.upserted", "invoice.posted"}),
        ("journal_post", {"journal.posted"}),
    ],
)
def test_issuing_sends_what_the_integration_mode_asks_for(firm, mode, topics):
    from ledger.models import Integration, OutboxMessage

    Integration.objects.filter(legal_entity=firm).update(mode=mode)
    billing_run_execute(legal_entity=firm, period_end=PERIOD_END, customer=None, actor_label="t")
    invoice = Invoice.objects.get(customer__name="Northwind")
    invoice_issue(invoice=invoice, today=TODAY)
    assert set(OutboxMessage.objects.values_list("topic", flat=True)) == topics
    if mode != "journal_post":
        message = OutboxMessage.objects.exclude(topic="customer.upserted").get()
        assert message.payload["number"] == "INV-2026-00001"
        assert message.payload["lines"][0]["net"] == "4500.00"

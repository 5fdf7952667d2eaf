# ruff: noqa: F811 - fixtures imported from payment_fixtures
"""One clock (issue #14 item 5): with the demo/test clock moved forward, every date the product
uses — pages, API defaults, payments, postings, reports' "as of" — is the clock's, so an
advanced demo is coherent and its months can be closed."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal as D

import pytest
from django.utils import timezone

from billing.models import Invoice, InvoiceLine, InvoiceStatus, LineKind, Payment
from ledger import rules
from ledger.models import JournalEntry
from ledger.services import journal_post, period_soft_lock
from psa.kernel import clock, dates
from tests.api.conftest import as_user
from tests.billing.payment_fixtures import customer, firm, invoice  # noqa: F401

pytestmark = pytest.mark.django_db

DAYS = 35


@pytest.fixture
def advanced():
    """The clock 35 days ahead of real time (settings.test has CLOCK_CONTROL on)."""
    clock.reset()
    clock.advance(days=DAYS)
    yield clock.today()
    clock.reset()


def _draft(customer) -> Invoice:
    draft = Invoice.objects.create(
        legal_entity=customer.legal_entity, customer=customer, currency=customer.currency,
        subtotal=D("500.00"), tax_total=D("100.00"), total=D("600.00"),
        pay_token=secrets.token_urlsafe(24),
    )  # fmt: skip
    InvoiceLine.objects.create(
        invoice=draft, position=1, kind=LineKind.ADJUSTMENT, description="Consulting",
        quantity=D(1), unit_price=D("500.00"), net=D("500.00"), tax=D("100.00"),
        tax_rate_value=D("0.2"),
    )  # fmt: skip
    return draft


def test_the_clock_is_ahead_of_real_time(advanced):
    assert advanced == timezone.localdate() + dt.timedelta(days=DAYS)


def test_a_payment_recorded_on_the_page_without_a_date_is_dated_on_the_clocks_day(
    client, finance, invoice, advanced
):
    client.force_login(finance)
    response = client.post(f"/billing/invoices/{invoice.pk}/payments/", {"amount": "100.00"})
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert payment.received_on == advanced
    entry = JournalEntry.objects.get(source_type="payment", source_id=str(payment.pk))
    assert entry.date == advanced


def test_a_payment_recorded_over_the_api_without_a_date_is_dated_on_the_clocks_day(
    finance, invoice, advanced
):
    response = as_user(finance).post(
        "/api/v1/payments/", {"invoice": invoice.pk, "amount": "100.00"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["received_on"] == advanced.isoformat()


def test_an_invoice_issued_by_hand_gets_the_clocks_issue_date(client, finance, customer, advanced):
    draft = _draft(customer)
    client.force_login(finance)
    assert client.post(f"/billing/invoices/{draft.pk}/issue/").status_code == 302
    draft.refresh_from_db()
    assert draft.status == InvoiceStatus.ISSUED
    assert draft.issue_date == advanced
    assert draft.due_date == advanced + dt.timedelta(days=customer.payment_terms_days)
    assert timezone.localdate(draft.issued_at) == advanced
    entry = JournalEntry.objects.get(source_type="invoice", source_id=str(draft.pk))
    assert entry.date == advanced


def test_an_invoice_issued_over_the_api_gets_the_clocks_issue_date(finance, customer, advanced):
    draft = _draft(customer)
    response = as_user(finance).post(f"/api/v1/billing/invoices/{draft.pk}/issue/", format="json")
    assert response.status_code in (200, 201), response.content
    draft.refresh_from_db()
    assert draft.issue_date == advanced


def test_the_reports_default_as_of_is_the_clocks_day(finance, firm, advanced):
    # A posting dated between real today and the clock's day: inside the clock's "as of".
    journal_post(
        legal_entity=firm,
        event=rules.TimeApproved(amount=D("100.00"), currency="GBP", project_id=1),
        date=advanced - dt.timedelta(days=1), source_type="week", source_id="w1",
    )  # fmt: skip
    api = as_user(finance)
    tb = api.get("/api/v1/ledger/uk/reports/trial-balance/").json()
    assert tb["as_of"] == advanced.isoformat()
    assert tb["total_debit"] == tb["total_credit"] == "100.00"
    aging = api.get("/api/v1/ledger/uk/reports/ar-aging/").json()
    assert aging["as_of"] == advanced.isoformat()


def test_the_pay_page_says_overdue_by_the_clock(client, invoice, advanced):
    assert timezone.localdate() <= invoice.due_date < advanced
    page = client.get(f"/pay/{invoice.pay_token}/").content.decode()
    assert 'data-testid="pay-status">overdue<' in page


def test_the_week_grid_opens_on_the_clocks_week(client, consultant, advanced):
    from timesheets.selectors import week_start

    client.force_login(consultant)
    response = client.get("/time/")
    assert response.status_code == 200
    assert response.context["grid"].week_start == week_start(advanced)
    assert response.context["today"] == advanced


def test_the_previous_month_closes_in_the_demo_and_nothing_after_is_dated_in_it(
    client, finance, firm, customer, invoice
):
    """Advance into next month, close the previous one (a soft lock through its last day):
    what is recorded afterwards (a payment, an invoice issued) is dated in the new month."""
    real = timezone.localdate()
    next_month = (real.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    clock.reset()
    try:
        clock.advance(days=(next_month - real).days + 4)
        month_end = next_month - dt.timedelta(days=1)
        period_soft_lock(legal_entity=firm, through=month_end, actor=finance)
        before = set(JournalEntry.objects.values_list("pk", flat=True))
        client.force_login(finance)
        paid = client.post(f"/billing/invoices/{invoice.pk}/payments/", {"amount": "1200.00"})
        assert paid.status_code == 302
        draft = _draft(customer)
        assert client.post(f"/billing/invoices/{draft.pk}/issue/").status_code == 302
        after = JournalEntry.objects.exclude(pk__in=before)
        assert after.count() >= 2
        assert all(entry.date > month_end for entry in after)
        firm.refresh_from_db()
        assert firm.soft_lock_date == month_end
    finally:
        clock.reset()


def test_the_operational_date_window_follows_the_clock():
    real = timezone.localdate()
    clock.reset()
    try:
        clock.advance(days=400)
        first, last = dates.bounds(operational=True)
        year = clock.today().year
        assert year > real.year
        assert (first, last) == (dt.date(year - 10, 1, 1), dt.date(year + 1, 12, 31))
        late = dt.date(year + 1, 6, 1)  # refused by the real date's window, fine by the clock's
        assert dates.date_problem(late, operational=True) is None
    finally:
        clock.reset()

# ruff: noqa: F811 - fixtures imported from payment_fixtures
"""Finance pages of payments: record on the invoice page, refund, write off, the payments list
with attempts to retry, the operations page, and the dunning-level editor."""

from decimal import Decimal as D

import pytest

from billing.models import AttemptKind, AttemptStatus, DunningLevel, Payment, PaymentAttempt
from tests.billing.payment_fixtures import customer, firm, invoice  # noqa: F401

pytestmark = pytest.mark.django_db


def test_finance_records_a_bank_transfer_on_the_invoice_page(client, invoice, finance):
    client.force_login(finance)
    page = client.get(f"/billing/invoices/{invoice.pk}/")
    assert page.status_code == 200 and "Record a bank transfer" in page.content.decode()
    response = client.post(
        f"/billing/invoices/{invoice.pk}/payments/",
        {"amount": "1300.00", "received_on": "2026-12-01", "reference": "BACS 77"},
    )
    assert response.status_code == 302
    payment = Payment.objects.get()
    assert (payment.amount, payment.applied, payment.reference) == (
        D("1300.00"), D("1200.00"), "BACS 77",
    )  # fmt: skip
    html = client.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert "BACS 77" in html and "customer credit 100.00 GBP" in html
    refund = client.post(f"/billing/payments/{payment.pk}/refund/", {"amount": "50.00"})
    assert refund.status_code == 302
    payment.refresh_from_db()
    assert payment.refunded == D("50.00")


def test_bad_input_on_the_page_names_the_field_and_writes_nothing(client, invoice, finance):
    client.force_login(finance)
    response = client.post(f"/billing/invoices/{invoice.pk}/payments/", {"amount": "abc"})
    assert response.status_code == 400
    assert not Payment.objects.exists()
    response = client.post(
        f"/billing/invoices/{invoice.pk}/payments/", {"amount": "10", "received_on": "soon"}
    )
    assert response.status_code == 400 and b"received_on" in response.content


def test_only_finance_may_record_payments(client, invoice, consultant, project_manager):
    for user in (consultant, project_manager):
        client.force_login(user)
        response = client.post(f"/billing/invoices/{invoice.pk}/payments/", {"amount": "1"})
        assert response.status_code == 403
        assert client.get("/billing/payments/").status_code == 403
    assert not Payment.objects.exists()


def test_write_off_from_the_invoice_page(client, invoice, finance):
    client.force_login(finance)
    response = client.post(f"/billing/invoices/{invoice.pk}/write-off/", {"reason": "Gone"})
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == "paid"


def test_failed_autopay_attempts_are_listed_for_finance_and_on_operations(client, invoice, finance):
    PaymentAttempt.objects.create(
        invoice=invoice, number=1, kind=AttemptKind.OFF_SESSION, status=AttemptStatus.FAILED,
        amount=D("1200.00"), currency="GBP", idempotency_key="k1", error_code="expired_card",
    )  # fmt: skip
    client.force_login(finance)
    for url in ("/billing/payments/", "/operations/"):
        html = client.get(url).content.decode()
        assert "expired_card" in html and "Retry" in html, url


def test_the_dunning_editor_saves_levels_and_reports_errors_by_field(client, firm, finance):
    client.force_login(finance)
    assert client.post("/billing/dunning/", {"entity": "uk", "defaults": "1"}).status_code == 302
    assert DunningLevel.objects.filter(legal_entity=firm).count() == 4  # the defaults
    level = DunningLevel.objects.get(days_from_due=7)
    ok = client.post(
        "/billing/dunning/",
        {"entity": "uk", "level": level.pk, "name": "A week late", "days_from_due": "7",
         "subject": "Overdue: {{ invoice.number }}", "body": "Please pay {{ pay_url }}",
         "fee_currency": "GBP", "fee_amount": "10.00", "is_active": "1"},
    )  # fmt: skip
    assert ok.status_code == 302
    level.refresh_from_db()
    assert (level.name, level.fees.get(currency="GBP").amount) == ("A week late", D("10.00"))
    bad = client.post(
        "/billing/dunning/",
        {"entity": "uk", "name": "Dup", "days_from_due": "7", "subject": "{% bad %}",
         "body": "x", "fee_currency": "", "fee_amount": ""},
    )  # fmt: skip
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "days_from_due" in html and "subject" in html
    assert DunningLevel.objects.count() == 4

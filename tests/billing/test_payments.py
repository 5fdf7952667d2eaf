# ruff: noqa: F811 - fixtures imported from payment_fixtures
"""Manual payments as worked examples: partial payments, overpayment → credit → next invoice,
write-offs, bank refunds, validation, and the payments API — with the books after each step."""

from decimal import Decimal as D

import pytest

from billing.models import CustomerCredit, InvoiceStatus, Payment, WriteOff
from billing.selectors.payments import credit_balance
from billing.services.payments import (
    credit_apply,
    invoice_write_off,
    payment_record,
)
from billing.services.refunds import payment_refund
from ledger import rules
from ledger.models import JournalEntry
from ledger.selectors import balances_by_role
from psa.automation.sweeps import collect_due
from psa.kernel import errors
from psa.kernel.models import AuditEvent
from tests.billing.payment_fixtures import (  # noqa: F401
    DUE,
    LATER,
    customer,
    firm,
    invoice,
    make_invoice,
)

pytestmark = pytest.mark.django_db


def _books(firm):
    b = balances_by_role(legal_entity=firm, as_of=LATER)
    return {k: v for k, v in b.items() if v}


def test_a_partial_bank_payment_leaves_the_invoice_partially_paid_and_books_it(
    firm, invoice, finance
):
    payment = payment_record(
        invoice=invoice, amount="500.00", received_on=DUE, reference="BACS 123", actor=finance
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (
        InvoiceStatus.PARTIALLY_PAID, D("500.00"), D("700.00"),
    )  # fmt: skip
    assert (payment.applied, payment.method) == (D("500.00"), "bank_transfer")
    books = _books(firm)
    assert books["bank"] == D("500.00")
    assert books["accounts_receivable"] == D("700.00")  # 1,200 invoiced - 500 paid
    entry = JournalEntry.objects.get(source_type="payment", source_id=str(payment.pk))
    assert entry.event == "payment.received"
    assert AuditEvent.objects.filter(action="payment.recorded", actor=finance).exists()
    payment_record(invoice=invoice, amount="700.00", received_on=DUE, actor=finance)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert "accounts_receivable" not in _books(firm)


def test_an_overpayment_becomes_credit_that_settles_the_next_invoice(
    firm, customer, invoice, finance
):
    payment_record(invoice=invoice, amount="1500.00", received_on=DUE, actor=finance)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.amount_paid == D("1200.00")
    assert credit_balance(customer=customer, currency="GBP") == D("300.00")
    books = _books(firm)
    assert books["bank"] == D("1500.00")
    assert books["customer_prepayments"] == D("-300.00")
    assert "accounts_receivable" not in books

    second = make_invoice(customer, net=D("200.00"), tax=D("40.00"), today=DUE)
    counts = collect_due(today=DUE)  # the sweep applies credit before any card is charged
    second.refresh_from_db()
    assert second.status == InvoiceStatus.PAID and second.amount_paid == D("240.00")
    assert credit_balance(customer=customer, currency="GBP") == D("60.00")
    assert counts["failed"] == 0
    books = _books(firm)
    assert books["customer_prepayments"] == D("-60.00")
    assert "accounts_receivable" not in books
    # Applying again finds nothing to do: credit is spent once.
    assert credit_apply(invoice=second) == D("0")
    assert CustomerCredit.objects.filter(invoice=second).count() == 1


def test_bad_amounts_are_refused_naming_the_field_and_nothing_is_written(invoice, finance):
    for bad in ("-5", "0", "12.345", "abc"):
        with pytest.raises(errors.ValidationFailed) as caught:
            payment_record(invoice=invoice, amount=bad, actor=finance)
        assert "amount" in caught.value.fields
    assert not Payment.objects.exists()
    assert not JournalEntry.objects.filter(source_type="payment").exists()


def test_a_paid_invoice_takes_no_more_bank_payments(invoice, finance):
    payment_record(invoice=invoice, amount="1200.00", actor=finance)
    with pytest.raises(errors.Conflict):
        payment_record(invoice=invoice, amount="1.00", actor=finance)
    assert Payment.objects.count() == 1


def test_writing_off_the_rest_books_bad_debt_and_settles_the_invoice(firm, invoice, finance):
    payment_record(invoice=invoice, amount="200.00", received_on=DUE, actor=finance)
    with pytest.raises(errors.ValidationFailed):
        invoice_write_off(invoice=invoice, actor=finance, reason=" ")
    row = invoice_write_off(invoice=invoice, actor=finance, reason="Customer insolvent", today=DUE)
    assert row.amount == D("1000.00")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    books = _books(firm)
    assert books["bad_debt"] == D("1000.00")
    assert "accounts_receivable" not in books
    with pytest.raises(errors.Conflict):
        invoice_write_off(invoice=invoice, actor=finance, reason="again", today=DUE)
    assert WriteOff.objects.count() == 1


def test_a_bank_refund_reopens_the_invoice_and_books_it(firm, invoice, finance):
    payment = payment_record(invoice=invoice, amount="1200.00", received_on=DUE, actor=finance)
    refund = payment_refund(payment=payment, amount="200.00", actor=finance, reason="Discount")
    assert (refund.status, refund.via) == ("succeeded", "bank")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == (InvoiceStatus.PARTIALLY_PAID, D("200.00"))
    books = _books(firm)
    assert books["bank"] == D("1000.00")
    assert books["accounts_receivable"] == D("200.00")
    with pytest.raises(errors.ValidationFailed) as caught:
        payment_refund(payment=payment, amount="1000.01", actor=finance)
    assert "amount" in caught.value.fields


def test_a_refund_of_an_overpayment_returns_the_credit_first_then_reopens_the_invoice(
    firm, customer, invoice, finance
):
    payment = payment_record(invoice=invoice, amount="1500.00", received_on=DUE, actor=finance)
    payment_refund(payment=payment, amount="1400.00", actor=finance)
    invoice.refresh_from_db()
    # 1,500 paid = 1,200 applied + 300 credit; refunding 1,400 returns the 300 of credit and
    # reopens 1,100 of the invoice.
    assert invoice.amount_due == D("1100.00")
    assert credit_balance(customer=customer, currency="GBP") == D("0")
    books = _books(firm)
    assert books["bank"] == D("100.00")
    assert books["accounts_receivable"] == D("1100.00")
    assert "customer_prepayments" not in books


def test_dispute_rules_balance_and_a_won_dispute_reverses_the_loss():
    opened = rules.build_lines(
        rules.DisputeOpened(currency="GBP", amount=D("100.00"), fee=D("15.00")), "GBP"
    )
    assert {(ln.role, ln.debit, ln.credit) for ln in opened} == {
        ("bad_debt", D("100.00"), D("0")),
        ("payment_fees", D("15.00"), D("0")),
        ("stripe_clearing", D("0"), D("115.00")),
    }
    won = rules.build_lines(rules.DisputeWon(currency="GBP", amount=D("100.00")), "GBP")
    assert {(ln.role, ln.debit, ln.credit) for ln in won} == {
        ("stripe_clearing", D("100.00"), D("0")),
        ("bad_debt", D("0"), D("100.00")),
    }
    with pytest.raises(rules.RuleError):
        rules.build_lines(rules.DisputeOpened(currency="GBP", amount=D("-1")), "GBP")


def test_finance_records_a_payment_through_the_api(client, invoice, finance, consultant):
    client.force_login(consultant)
    denied = client.post("/api/v1/payments/", {"invoice": invoice.pk, "amount": "10.00"})
    assert denied.status_code == 403
    client.force_login(finance)
    bad = client.post("/api/v1/payments/", {"invoice": invoice.pk, "amount": "-3"},
                      content_type="application/json")  # fmt: skip
    assert bad.status_code == 400 and "amount" in bad.json()["error"]["fields"]
    ok = client.post(
        "/api/v1/payments/",
        {"invoice": invoice.pk, "amount": "100.00", "reference": "BACS 9"},
        content_type="application/json",
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["amount"] == "100.00" and ok.json()["applied"] == "100.00"
    listed = client.get(f"/api/v1/payments/?invoice={invoice.pk}").json()
    assert [p["reference"] for p in listed["results"]] == ["BACS 9"]
    payment_id = ok.json()["id"]
    refund = client.post(
        f"/api/v1/payments/{payment_id}/refunds/", {"amount": "40.00"},
        content_type="application/json",
    )  # fmt: skip
    assert refund.status_code == 201 and refund.json()["status"] == "succeeded"
    off = client.post(
        f"/api/v1/payments/invoices/{invoice.pk}/write-off/", {"reason": "Goodwill"},
        content_type="application/json",
    )  # fmt: skip
    assert off.status_code == 201 and off.json()["amount"] == "1140.00"


def test_a_billing_read_token_lists_payments_but_cannot_record_one(client, invoice, finance):
    from psa.kernel.services import api_token_create

    _, read_only = api_token_create(user=finance, name="bi", scopes=["billing:read"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {read_only}"}
    assert client.get("/api/v1/payments/", **auth).status_code == 200
    denied = client.post(
        "/api/v1/payments/", {"invoice": invoice.pk, "amount": "1.00"},
        content_type="application/json", **auth,
    )  # fmt: skip
    assert denied.status_code == 403
    assert not Payment.objects.exists()

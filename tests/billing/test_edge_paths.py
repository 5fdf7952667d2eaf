"""Issue #13 item 11: a fund- or credit-paid invoice can be voided (the money goes back), a
written-off invoice reads "Written off" everywhere, and a lost dispute reopens the amount."""

import datetime as dt
from decimal import Decimal as D

import pytest

from billing.models import (
    CustomerCredit,
    Dispute,
    FundApplication,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    LineKind,
    TaxRate,
)
from billing.selectors.payments import credit_balance
from billing.services import invoice_void
from billing.services.funds import fund_available
from billing.services.payments import credit_apply, invoice_write_off, payment_record
from billing.services.pdf import render_invoice_pdf
from billing.services.recurring import billing_terms_set
from billing.services.stripe_events import stripe_event_process
from ledger.models import JournalEntry
from ledger.selectors import balances_by_role
from psa.automation.sweeps import collect_due
from psa.kernel import errors
from tests.billing.payment_fixtures import (  # noqa: F401
    DUE,
    LATER,
    customer,
    fake_stripe,
    firm,
    invoice,
    make_invoice,
    post_event,
)
from tests.billing.test_billing_models import project, run, week_of_time
from tests.billing.test_pdf import _text
from tests.billing.test_stripe_autopay import autopay  # noqa: F401

pytestmark = pytest.mark.django_db


def books(entity, as_of=LATER):
    return {k: v for k, v in balances_by_role(legal_entity=entity, as_of=as_of).items() if v}


# --- voiding an invoice paid from a prepaid fund or from credit ---------------------------


def test_a_fund_paid_invoice_is_voided_and_the_money_is_back_in_the_fund(firm, customer):  # noqa: F811
    TaxRate.objects.create(legal_entity=firm, name="VAT 20%", rate=D("0.20"), is_default=True)
    fund = project(customer, "prepaid_fund")
    billing_terms_set(project=fund, actor=None, fund_threshold="100", fund_top_up="5000")
    run(firm)  # the top-up
    week_of_time(fund, hours=D("2"))  # 1,200 gross drawn from the fund
    drawn = Invoice.objects.get(pk=run(firm).invoices.get().pk)
    assert (drawn.status, drawn.amount_paid) == (InvoiceStatus.PAID, D("1200.00"))
    assert fund_available(project_id=fund.pk) == D("3800.00")
    before = books(firm)
    credit = invoice_void(
        invoice=drawn, actor=None, reason="Wrong project", today=dt.date(2026, 12, 2)
    )
    assert credit.kind == InvoiceKind.CREDIT_NOTE and credit.total == -drawn.total
    drawn.refresh_from_db()
    assert (drawn.status, drawn.amount_paid) == (InvoiceStatus.VOID, D("0.00"))
    assert fund_available(project_id=fund.pk) == D("5000.00")  # the fund holds it again
    assert FundApplication.objects.get(invoice=drawn).reversed_at is not None
    after = books(firm)
    assert after["customer_prepayments"] == D("-5000.00")  # was -3,800
    assert before["customer_prepayments"] == D("-3800.00")
    # Only the unpaid top-up is owed: the credit note and the return clear the voided one.
    assert after["accounts_receivable"] == before["accounts_receivable"] == D("5000.00")
    # Voiding again returns the same credit note and returns nothing twice.
    assert invoice_void(invoice=drawn, actor=None, reason="again").pk == credit.pk
    assert books(firm) == after
    # The time is billable again, and drawn from the refilled fund.
    again = run(firm).invoices.get()
    assert again.lines.get().kind == LineKind.FUND_DRAWDOWN
    assert fund_available(project_id=fund.pk) == D("3800.00")


def test_a_credit_paid_invoice_is_voided_and_the_credit_is_back(firm, customer, invoice):  # noqa: F811
    payment_record(invoice=invoice, amount="1500.00", received_on=DUE, actor=None)
    assert credit_balance(customer=customer, currency="GBP") == D("300.00")
    second = make_invoice(customer, net=D("250.00"), tax=D("50.00"))
    assert credit_apply(invoice=second) == D("300.00")
    second.refresh_from_db()
    assert second.status == InvoiceStatus.PAID
    invoice_void(invoice=second, actor=None, reason="Sent twice")
    second.refresh_from_db()
    assert second.status == InvoiceStatus.VOID
    assert credit_balance(customer=customer, currency="GBP") == D("300.00")
    assert CustomerCredit.objects.filter(invoice=second).count() == 2
    after = books(firm)
    assert after["customer_prepayments"] == D("-300.00")  # the credit is owed again
    assert "accounts_receivable" not in after


def test_an_invoice_paid_in_cash_is_still_refused(firm, invoice):  # noqa: F811
    payment_record(invoice=invoice, amount="100.00", received_on=DUE, actor=None)
    with pytest.raises(errors.Conflict):
        invoice_void(invoice=invoice, actor=None, reason="No")


# --- a written-off invoice reads "Written off" ---------------------------------------------


def test_a_written_off_invoice_shows_written_off_not_paid(
    client,
    finance,
    firm,  # noqa: F811
    invoice,  # noqa: F811
    tmp_path,
):
    payment_record(invoice=invoice, amount="200.00", received_on=DUE, actor=None)
    invoice_write_off(invoice=invoice, actor=finance, reason="Insolvent", today=DUE)
    client.force_login(finance)
    page = client.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert "Written off" in page and "status-written_off" in page
    listed = client.get("/billing/").content.decode()
    assert "Written off" in listed and "status-paid" not in listed
    api = client.get(f"/api/v1/billing/invoices/{invoice.pk}/").json()
    assert (api["status"], api["status_label"], api["written_off"]) == (
        "paid",
        "Written off",
        "1000.00",
    )
    (row,) = client.get("/api/v1/billing/invoices/").json()["results"]
    assert row["status_label"] == "Written off"
    text = _text(render_invoice_pdf(Invoice.objects.get(pk=invoice.pk)), tmp_path)
    assert "Written off" in text and "Pay online" not in text


def test_a_paid_invoice_still_reads_paid(client, finance, firm, invoice):  # noqa: F811
    payment_record(invoice=invoice, amount="1200.00", received_on=DUE, actor=None)
    client.force_login(finance)
    api = client.get(f"/api/v1/billing/invoices/{invoice.pk}/").json()
    assert (api["status_label"], api["written_off"]) == ("Paid", "0.00")


# --- a lost dispute reopens the amount -----------------------------------------------------


def _disputed(client, invoice, autopay, fake_stripe):  # noqa: F811
    autopay()
    collect_due(today=DUE)
    payment = invoice.payments.get()
    dispute = fake_stripe.add({
        "id": "du_1", "object": "dispute", "amount": 120000, "currency": "gbp",
        "status": "needs_response", "reason": "fraudulent",
        "payment_intent": payment.payment_intent_id,
        "balance_transactions": [{"id": "txn_d", "fee": 1500, "currency": "gbp"}],
    })  # fmt: skip
    event = fake_stripe.event("charge.dispute.created", dispute, event_id="evt_du_open")
    post_event(client, event)
    stripe_event_process(event_id="evt_du_open")
    return dispute


def test_a_lost_dispute_makes_the_amount_due_again_once(
    client,
    firm,  # noqa: F811
    invoice,  # noqa: F811
    autopay,  # noqa: F811
    fake_stripe,  # noqa: F811
):
    dispute = _disputed(client, invoice, autopay, fake_stripe)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID  # open dispute: not decided yet
    dispute["status"] = "lost"
    for event_id in ("evt_du_lost", "evt_du_lost_again"):
        event = fake_stripe.event("charge.dispute.closed", dispute, event_id=event_id)
        post_event(client, event)
        post_event(client, event)  # a replay
        stripe_event_process(event_id=event_id)
    assert Dispute.objects.get().status == "lost"
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == (InvoiceStatus.ISSUED, D("1200.00"))
    now = books(firm)
    assert now["accounts_receivable"] == D("1200.00")  # owed again
    assert "bad_debt" not in now  # the loss became the receivable again
    assert now["payment_fees"] > D("15.00")  # the dispute fee stays an expense
    assert JournalEntry.objects.filter(source_type="dispute").count() == 2  # opened, lost


def test_a_won_dispute_leaves_the_invoice_paid(
    client,
    firm,  # noqa: F811
    invoice,  # noqa: F811
    autopay,  # noqa: F811
    fake_stripe,  # noqa: F811
):
    dispute = _disputed(client, invoice, autopay, fake_stripe)
    dispute["status"] = "won"
    event = fake_stripe.event("charge.dispute.closed", dispute, event_id="evt_du_won")
    post_event(client, event)
    stripe_event_process(event_id="evt_du_won")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == (InvoiceStatus.PAID, D("0.00"))
    assert "accounts_receivable" not in books(firm)

# ruff: noqa: F811 - fixtures imported from payment_fixtures
"""Foreign-currency documents as worked examples: a EUR customer of a GBP entity.

A credit note reverses its invoice at the invoice's rate, so the receivable in GBP goes back to
exactly zero; a refund pays the cash out at the refund date's rate and books the difference to
the rate the receivable (or the customer's credit) carries as realised FX gain or loss.
Balances are by role, debit minus credit, in GBP; every step checks that the books balance.
"""

import datetime as dt
from decimal import Decimal as D

import pytest

from billing.models import InvoiceStatus, PaymentMethodKind
from billing.selectors.payments import credit_balance
from billing.services.payments import payment_record
from billing.services.refunds import payment_refund, refund_sync
from billing.services.voiding import invoice_void
from ledger import rules
from ledger.models import FxRate, JournalEntry
from ledger.selectors import balances_by_role, trial_balance
from ledger.services import journal_post
from tests.billing.payment_fixtures import ISSUED_ON, LATER, firm, make_invoice  # noqa: F401
from tests.crm.factories import CustomerFactory

pytestmark = pytest.mark.django_db

TODAY = ISSUED_ON  # refunds are booked on the day they succeed
BOOKED = TODAY - dt.timedelta(days=30)  # EUR 0.85
PAID = TODAY - dt.timedelta(days=10)  # EUR 0.88
# From TODAY - 5 on: EUR 0.90


@pytest.fixture
def eur_customer(firm):
    for day, rate in ((BOOKED, "0.85"), (PAID, "0.88"), (TODAY - dt.timedelta(days=5), "0.90")):
        FxRate.objects.create(
            currency="EUR", functional_currency="GBP", date=day, rate=D(rate)
        )  # fmt: skip
    return CustomerFactory(
        legal_entity=firm, name="Rotterdam BV", currency="EUR", payment_terms_days=14
    )


def tb(entity):
    """Non-zero balances by role, after checking that debits equal credits for the entity."""
    rows = trial_balance(legal_entity=entity, as_of=LATER)
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows)
    return {k: v for k, v in balances_by_role(legal_entity=entity, as_of=LATER).items() if v}


def test_a_eur_invoice_booked_at_085_voided_at_090_leaves_no_receivable_and_no_fx(
    firm, eur_customer, finance
):
    # 1,000 EUR + 200 EUR VAT at 0.85: AR 1,020.00 GBP.
    invoice = make_invoice(eur_customer, net=D("1000.00"), tax=D("200.00"), today=BOOKED)
    assert invoice.fx_rate == D("0.85")
    assert tb(firm) == {
        "accounts_receivable": D("1020.00"),
        "revenue_services": D("-850.00"),
        "tax_payable": D("-170.00"),
    }

    # Voided when the rate is 0.90: the credit note reverses at 0.85, not 0.90 (which left
    # 1,020 - 1,080 = -60.00 GBP in AR for ever). Nothing was paid, so there is no FX line.
    credit = invoice_void(invoice=invoice, actor=finance, reason="Sent twice", today=TODAY)
    assert tb(firm) == {}
    assert credit.fx_rate == D("0.85")


def test_paid_at_088_refunded_at_090_then_voided_books_the_fx_and_clears_the_receivable(
    firm, eur_customer, finance
):
    invoice = make_invoice(eur_customer, net=D("1000.00"), tax=D("0.00"), today=BOOKED)
    assert tb(firm) == {"accounts_receivable": D("850.00"), "revenue_services": D("-850.00")}

    # Paid 1,000 EUR at 0.88: the bank gets 880.00, AR leaves at 850.00, FX gain 30.00.
    payment = payment_record(invoice=invoice, amount="1000.00", received_on=PAID, actor=finance)
    assert tb(firm) == {
        "bank": D("880.00"),
        "revenue_services": D("-850.00"),
        "fx_gain_loss": D("-30.00"),
    }

    # Refunded by bank today at 0.90: the bank pays 900.00 GBP, the receivable reopens at its
    # carrying 850.00 and the 50.00 difference is an FX loss (net loss 20.00 with the gain).
    refund = payment_refund(payment=payment, amount="1000.00", actor=finance, reason="Dispute")
    assert (refund.status, refund.via) == ("succeeded", "bank")
    entry = JournalEntry.objects.get(source_type="refund", source_id=str(refund.pk))
    assert sorted((ln.debit, ln.credit) for ln in entry.lines.all()) == [
        (D("0.00"), D("900.00")),  # bank
        (D("50.00"), D("0.00")),  # FX loss
        (D("850.00"), D("0.00")),  # AR reopened
    ]
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_due) == (InvoiceStatus.ISSUED, D("1000.00"))
    assert tb(firm) == {
        "bank": D("-20.00"),
        "accounts_receivable": D("850.00"),
        "revenue_services": D("-850.00"),
        "fx_gain_loss": D("20.00"),
    }

    # Voided at 0.90: the credit note takes back 850.00, the receivable is exactly zero.
    invoice_void(invoice=invoice, actor=finance, reason="Cancelled", today=TODAY)
    assert tb(firm) == {"bank": D("-20.00"), "fx_gain_loss": D("20.00")}


def test_a_receivable_valued_partly_at_other_rates_is_cleared_to_fx_when_voided(
    firm, eur_customer, finance
):
    invoice = make_invoice(eur_customer, net=D("1000.00"), tax=D("0.00"), today=BOOKED)
    # Entries on the invoice's receivable at other rates (as a hand posting or an entry from
    # before refunds kept the carrying rate can leave): 500 EUR out at 0.88, back at 0.90.
    common = {
        "currency": "EUR",
        "customer_id": eur_customer.pk,
        "document": f"invoice:{invoice.pk}",
    }
    for source, event in (
        ("legacy-1", rules.PaymentReceived(fx_rate=D("0.88"), amount=D("500.00"), **common)),
        ("legacy-2", rules.RefundPaid(fx_rate=D("0.90"), amount=D("500.00"), via="bank", **common)),
    ):
        journal_post(
            legal_entity=firm, event=event, date=PAID, source_type="test", source_id=source
        )
    assert tb(firm) == {
        "accounts_receivable": D("860.00"),  # 850.00 - 440.00 + 450.00: 1,000 EUR still owed
        "bank": D("-10.00"),
        "revenue_services": D("-850.00"),
    }

    # The credit note takes back 850.00 (the invoice's rate); the 10.00 the receivable still
    # shows in GBP while nothing is owed in EUR is a realised FX loss, not a stale receivable.
    credit = invoice_void(invoice=invoice, actor=finance, reason="Cancelled", today=TODAY)
    assert tb(firm) == {"bank": D("-10.00"), "fx_gain_loss": D("10.00")}
    fx = JournalEntry.objects.get(source_type="credit_note", source_id=str(credit.pk),
                                  event="receivable.fx_settled")  # fmt: skip
    assert fx.date == TODAY


def test_credit_paid_at_088_refunded_at_090_bank_900_credit_880_fx_loss_20(
    firm, eur_customer, finance
):
    # A 200 EUR invoice at 0.85 (170.00 GBP), overpaid with 1,200 EUR at 0.88: 1,000 EUR credit
    # carried at 880.00 GBP; the 200 EUR applied leave AR at 170.00 against 176.00 received.
    invoice = make_invoice(eur_customer, net=D("200.00"), tax=D("0.00"), today=BOOKED)
    payment = payment_record(invoice=invoice, amount="1200.00", received_on=PAID, actor=finance)
    assert credit_balance(customer=eur_customer, currency="EUR") == D("1000.00")
    assert tb(firm) == {
        "bank": D("1056.00"),
        "customer_prepayments": D("-880.00"),
        "revenue_services": D("-170.00"),
        "fx_gain_loss": D("-6.00"),
    }

    # 1,000 EUR refunded today at 0.90: bank -900.00, the credit +880.00, FX loss 20.00.
    payment_refund(payment=payment, amount="1000.00", actor=finance)
    assert credit_balance(customer=eur_customer, currency="EUR") == D("0.00")
    assert tb(firm) == {
        "bank": D("156.00"),
        "revenue_services": D("-170.00"),
        "fx_gain_loss": D("14.00"),  # 20.00 loss - 6.00 gain
    }


def test_a_stripe_refund_of_a_eur_card_payment_converts_the_cash_at_the_day_s_rate(
    firm, eur_customer
):
    invoice = make_invoice(eur_customer, net=D("1000.00"), tax=D("0.00"), today=BOOKED)
    payment = payment_record(
        invoice=invoice, amount="1000.00", received_on=PAID, method=PaymentMethodKind.CARD,
        payment_intent_id="pi_fx_1", actor_label="stripe:test",
    )  # fmt: skip
    assert tb(firm) == {
        "stripe_clearing": D("880.00"),
        "revenue_services": D("-850.00"),
        "fx_gain_loss": D("-30.00"),
    }

    # Refunded in the Stripe dashboard today (0.90): 900.00 GBP leave the Stripe balance.
    refund_sync(
        refund_obj={"id": "re_fx_1", "status": "succeeded", "amount": 100000,
                    "payment_intent": "pi_fx_1", "metadata": {}},
    )  # fmt: skip
    payment.refresh_from_db()
    assert payment.refunded == D("1000.00")
    assert tb(firm) == {
        "stripe_clearing": D("-20.00"),
        "accounts_receivable": D("850.00"),
        "revenue_services": D("-850.00"),
        "fx_gain_loss": D("20.00"),
    }

# ruff: noqa: F811 - fixtures imported from payment_fixtures
"""Prepayments in a foreign currency drawn down at another rate: once the customer's prepaid
money in that currency is used up, nothing stays on the prepayments account in the functional
currency; the difference is realised FX. A EUR customer of a GBP entity; balances by role,
debit minus credit, in GBP, after checking the books balance."""

import datetime as dt
from decimal import Decimal as D

import pytest

from billing.models import Invoice, InvoiceStatus, TaxRate
from billing.services import billing_run_execute
from billing.services.payments import credit_apply, payment_record
from billing.services.recurring import billing_terms_set
from ledger.models import FxRate, JournalEntry
from ledger.selectors import balances_by_role, trial_balance
from tests.billing.payment_fixtures import ISSUED_ON, LATER, firm, make_invoice  # noqa: F401
from tests.crm.factories import CustomerFactory
from tests.projects.factories import ProjectFactory, RateCardFactory
from tests.timesheets.factories import TimeEntryFactory

pytestmark = pytest.mark.django_db

BOOKED = ISSUED_ON - dt.timedelta(days=30)  # EUR 0.85
PAID = ISSUED_ON - dt.timedelta(days=10)  # EUR 0.88
NOW = ISSUED_ON  # EUR 0.90 from ISSUED_ON - 5


@pytest.fixture
def eur_customer(firm):
    for day, rate in ((BOOKED, "0.85"), (PAID, "0.88"), (NOW - dt.timedelta(days=5), "0.90")):
        FxRate.objects.create(currency="EUR", functional_currency="GBP", date=day, rate=D(rate))
    return CustomerFactory(legal_entity=firm, currency="EUR", payment_terms_days=14)


def tb(entity):
    rows = trial_balance(legal_entity=entity, as_of=LATER)
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows)
    return {k: v for k, v in balances_by_role(legal_entity=entity, as_of=LATER).items() if v}


def test_credit_from_an_overpayment_used_at_another_rate_leaves_no_prepayment_residue(
    firm, eur_customer
):
    first = make_invoice(eur_customer, net=D("1000.00"), tax=D("0.00"), today=BOOKED)
    # 1,500 EUR paid at 0.88: 1,000 settle the invoice, 500 EUR become credit (440.00 GBP).
    payment_record(invoice=first, amount="1500.00", received_on=PAID)
    assert tb(firm)["customer_prepayments"] == D("-440.00")

    second = make_invoice(eur_customer, net=D("500.00"), tax=D("0.00"), today=NOW)
    assert second.fx_rate == D("0.90")
    assert credit_apply(invoice=second) == D("500.00")
    second.refresh_from_db()
    assert second.status == InvoiceStatus.PAID
    books = tb(firm)
    # The receivable of 450.00 GBP was settled by credit held at 440.00: a 10.00 FX loss, not
    # a 10.00 GBP debit left on prepayments for a customer who holds no credit.
    assert "customer_prepayments" not in books
    assert "accounts_receivable" not in books
    assert books["fx_gain_loss"] == D("-30.00") + D("10.00")  # gain on the first, loss here
    use = JournalEntry.objects.get(event="credit.applied")
    assert use.lines.get(debit__gt=0, amount_currency__gt=0).debit == D("440.00")


def test_a_prepaid_fund_topped_up_at_085_and_drawn_at_090_clears_to_fx(firm, eur_customer):
    TaxRate.objects.create(legal_entity=firm, name="VAT", rate=D("0"), is_default=True)
    fund = ProjectFactory(customer=eur_customer, billing_model="prepaid_fund")
    RateCardFactory(project=fund, rate=D("100.00"), currency="EUR")
    billing_terms_set(project=fund, actor=None, fund_threshold="100", fund_top_up="500")
    billing_run_execute(
        legal_entity=firm, period_end=BOOKED, actor_label="t", issue=True, today=BOOKED
    )
    assert tb(firm)["customer_prepayments"] == D("-425.00")  # 500 EUR at 0.85

    for day in range(2):  # 16 h at 100 = 1,600 EUR: the fund pays 500 of it
        TimeEntryFactory(project=fund, date=BOOKED + dt.timedelta(days=day + 1), status="approved")
    billing_run_execute(legal_entity=firm, period_end=NOW, actor_label="t", issue=True, today=NOW)
    drawn = Invoice.objects.filter(lines__kind="fund_drawdown").get()
    assert (drawn.fx_rate, drawn.amount_paid) == (D("0.90"), D("500.00"))
    books = tb(firm)
    # 500 EUR drawn at 0.90 (450.00 GBP) from a fund that holds them at 425.00: a 25.00 FX
    # loss. The top-up on the same invoice holds 500 EUR again, at 0.90: 450.00, not 425.00.
    assert books["fx_gain_loss"] == D("25.00")
    assert books["customer_prepayments"] == D("-450.00")

"""Accounting scenarios, step by step, with the expected trial balance after each step.

Balances are shown per role as debit minus credit (credits negative), in the entity's
functional currency. Every step also checks that the books balance.
"""

import datetime as dt
from decimal import Decimal as D

import pytest

from ledger import rules
from ledger.selectors import balance_sheet, balances_by_role, trial_balance
from ledger.services import journal_post
from tests.ledger.factories import books

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 1, 15)


def tb(entity, as_of=dt.date(2030, 1, 1)):
    """Non-zero balances by role, after checking that debits equal credits overall."""
    rows = trial_balance(legal_entity=entity, as_of=as_of)
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows)
    sheet = balance_sheet(legal_entity=entity, as_of=as_of)
    assert sheet["total_assets"] == sheet["total_liabilities_and_equity"]
    return {role: v for role, v in balances_by_role(legal_entity=entity, as_of=as_of).items() if v}


def post(entity, event, source, date=DAY):
    return journal_post(
        legal_entity=entity, event=event, date=date, source_type="test", source_id=source
    )


def test_a_week_of_time_approved_invoiced_with_vat_paid_by_card_and_paid_out():
    uk = books(code="uk", functional_currency="GBP")
    gbp = {"currency": "GBP", "customer_id": 7, "project_id": 3}

    # 37.5 h at 120/h approved: work in progress.
    post(uk, rules.TimeApproved(amount=D("4500.00"), person_id=5, **gbp), "week-1")
    assert tb(uk) == {"unbilled_revenue": D("4500.00"), "revenue_services": D("-4500.00")}

    # Invoiced with 20 % VAT: the receivable replaces the WIP.
    week = rules.InvoicePart(kind="time", net=D("4500.00"), tax=D("900.00"), accrued=D("4500.00"))
    invoice = rules.InvoiceIssued(
        parts=(week,), document="invoice:1", due_date=dt.date(2026, 2, 14), **gbp
    )
    post(uk, invoice, "invoice-1")
    assert tb(uk) == {
        "accounts_receivable": D("5400.00"),
        "tax_payable": D("-900.00"),
        "revenue_services": D("-4500.00"),
    }

    # Paid by card; Stripe keeps 2.9 % + 0.30 = 156.90.
    fee = (D("5400.00") * D("0.029") + D("0.30")).quantize(D("0.01"))
    assert fee == D("156.90")
    post(
        uk,
        rules.PaymentReceived(
            amount=D("5400.00"), fee=fee, via="stripe", document="invoice:1", **gbp
        ),
        "payment-1",
    )
    assert tb(uk) == {
        "stripe_clearing": D("5243.10"),
        "payment_fees": D("156.90"),
        "tax_payable": D("-900.00"),
        "revenue_services": D("-4500.00"),
    }

    # Stripe pays out to the bank.
    post(uk, rules.PayoutPaid(amount=D("5243.10"), currency="GBP"), "payout-1")
    assert tb(uk) == {
        "bank": D("5243.10"),
        "payment_fees": D("156.90"),
        "tax_payable": D("-900.00"),
        "revenue_services": D("-4500.00"),
    }


def test_a_monthly_retainer_billed_in_advance_on_the_15th_recognised_daily_across_month_end():
    de = books(code="de", functional_currency="EUR")
    start, end = dt.date(2026, 1, 15), dt.date(2026, 2, 14)  # 31 days
    post(
        de,
        rules.InvoiceIssued(
            parts=(rules.InvoicePart(kind="recurring", net=D("3000.00"), tax=D("570.00")),),
            currency="EUR", document="invoice:2", due_date=start,
        ),
        "invoice-2",
        date=start,
    )  # fmt: skip
    assert tb(de) == {
        "accounts_receivable": D("3570.00"),
        "deferred_revenue": D("-3000.00"),
        "tax_payable": D("-570.00"),
    }

    recognised = D(0)
    day = start
    while day <= end:
        to_date = rules.recognised_to_date(
            amount=D("3000.00"), currency="EUR", start=start, end=end, as_of=day
        )
        slice_ = to_date - recognised
        post(de, rules.RevenueRecognised(amount=slice_, currency="EUR"), f"sched-2:{day}", date=day)
        recognised = to_date
        if day == dt.date(2026, 1, 31):  # month end: 17 of 31 days
            assert tb(de, as_of=day)["revenue_recurring"] == D("-1645.16")
            assert tb(de, as_of=day)["deferred_revenue"] == D("-1354.84")
        day += dt.timedelta(days=1)

    assert tb(de) == {
        "accounts_receivable": D("3570.00"),
        "tax_payable": D("-570.00"),
        "revenue_recurring": D("-3000.00"),
    }
    # Running the daily job again posts nothing new: each day's source posts once.
    post(de, rules.RevenueRecognised(amount=D("96.77"), currency="EUR"), f"sched-2:{end}", date=end)
    assert tb(de)["revenue_recurring"] == D("-3000.00")


def test_a_milestone_invoiced_before_it_is_reached():
    uk = books(code="uk", functional_currency="GBP")
    part = rules.InvoicePart(kind="milestone", net=D("10000.00"), tax=D("2000.00"), reached=False)
    post(uk, rules.InvoiceIssued(parts=(part,), currency="GBP", document="invoice:3"), "invoice-3")
    assert tb(uk) == {
        "accounts_receivable": D("12000.00"),
        "deferred_revenue": D("-10000.00"),
        "tax_payable": D("-2000.00"),
    }
    post(uk, rules.MilestoneReached(amount=D("10000.00"), currency="GBP"), "milestone-3")
    assert tb(uk) == {
        "accounts_receivable": D("12000.00"),
        "revenue_fixed_fee": D("-10000.00"),
        "tax_payable": D("-2000.00"),
    }


def test_a_credit_note_puts_the_time_back_into_work_in_progress():
    uk = books(code="uk", functional_currency="GBP")
    post(uk, rules.TimeApproved(amount=D("1200.00"), currency="GBP"), "week-9")
    # Billed with a 100.00 write-down: 1,100 net for 1,200 of accrued time.
    parts = (
        rules.InvoicePart(kind="time", net=D("1100.00"), tax=D("220.00"), accrued=D("1200.00")),
    )
    post(uk, rules.InvoiceIssued(parts=parts, currency="GBP", document="invoice:4"), "invoice-4")
    assert tb(uk) == {
        "accounts_receivable": D("1320.00"),
        "tax_payable": D("-220.00"),
        "revenue_services": D("-1100.00"),
    }
    post(uk, rules.CreditNoteIssued(parts=parts, currency="GBP", document="invoice:4"), "credit-4")
    assert tb(uk) == {"unbilled_revenue": D("1200.00"), "revenue_services": D("-1200.00")}


def test_a_bad_debt_written_off():
    uk = books(code="uk", functional_currency="GBP")
    parts = (rules.InvoicePart(kind="services", net=D("1000.00"), tax=D("200.00")),)
    post(uk, rules.InvoiceIssued(parts=parts, currency="GBP", document="invoice:5"), "invoice-5")
    post(uk, rules.WrittenOff(amount=D("1200.00"), currency="GBP", document="invoice:5"), "wo-5")
    assert tb(uk) == {
        "bad_debt": D("1200.00"),
        "tax_payable": D("-200.00"),
        "revenue_services": D("-1000.00"),
    }


def test_a_eur_invoice_paid_at_a_different_rate_by_a_gbp_entity():
    uk = books(code="uk", functional_currency="GBP")
    eur = {"currency": "EUR", "customer_id": 9}
    parts = (rules.InvoicePart(kind="services", net=D("1000.00")),)
    post(
        uk,
        rules.InvoiceIssued(parts=parts, fx_rate=D("0.85"), document="invoice:6", **eur),
        "invoice-6",
    )
    assert tb(uk) == {"accounts_receivable": D("850.00"), "revenue_services": D("-850.00")}
    # Paid when 1 EUR buys 0.87 GBP: 870 arrives for a receivable booked at 850.
    payment = rules.PaymentReceived(
        amount=D("1000.00"),
        fx_rate=D("0.87"),
        receivable_rate=D("0.85"),
        document="invoice:6",
        **eur,
    )
    post(uk, payment, "payment-6")
    assert tb(uk) == {
        "bank": D("870.00"),
        "revenue_services": D("-850.00"),
        "fx_gain_loss": D("-20.00"),  # a gain
    }


def test_an_overpayment_becomes_customer_credit_and_pays_the_next_invoice():
    uk = books(code="uk", functional_currency="GBP")
    gbp = {"currency": "GBP", "customer_id": 4}
    one = (rules.InvoicePart(kind="services", net=D("500.00"), tax=D("100.00")),)
    post(uk, rules.InvoiceIssued(parts=one, document="invoice:7", **gbp), "invoice-7")
    post(
        uk,
        rules.PaymentReceived(amount=D("700.00"), applied=D("600.00"), document="invoice:7", **gbp),
        "payment-7",
    )
    assert tb(uk) == {
        "bank": D("700.00"),
        "customer_prepayments": D("-100.00"),
        "tax_payable": D("-100.00"),
        "revenue_services": D("-500.00"),
    }
    two = (rules.InvoicePart(kind="services", net=D("250.00"), tax=D("50.00")),)
    post(uk, rules.InvoiceIssued(parts=two, document="invoice:8", **gbp), "invoice-8")
    post(
        uk, rules.CustomerCreditApplied(amount=D("100.00"), document="invoice:8", **gbp), "credit-8"
    )
    assert tb(uk)["accounts_receivable"] == D("200.00")
    assert "customer_prepayments" not in tb(uk)

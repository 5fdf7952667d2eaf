"""The pure posting-rules engine: every event balances, rounding is deterministic."""

import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import rules

money = st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2)
rates = st.decimals(min_value=D("0.0001"), max_value=D("200"), places=6)


def _balanced(lines):
    assert sum(ln.debit for ln in lines) == sum(ln.credit for ln in lines)
    for ln in lines:
        assert (ln.debit > 0) != (ln.credit > 0)


parts = st.builds(
    rules.InvoicePart,
    kind=st.sampled_from(["time", "milestone", "recurring", "prepayment", "services"]),
    net=money,
    tax=money,
    accrued=money,
    reached=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(parts, min_size=1, max_size=8), rate=rates, credit=st.booleans())
def test_any_invoice_in_any_currency_balances_with_at_most_a_rounding_line(parts, rate, credit):
    cls = rules.CreditNoteIssued if credit else rules.InvoiceIssued
    event = cls(parts=tuple(parts), currency="USD", fx_rate=rate, document="invoice:1")
    lines = rules.build_lines(event, "EUR")
    _balanced(lines)
    rounding = [ln for ln in lines if ln.role == "rounding"]
    assert len(rounding) <= 1
    # Each converted line is off by at most half a cent, so the residual stays tiny.
    if rounding:
        assert rounding[0].debit + rounding[0].credit <= D("0.01") * len(lines)
    # The same event always gives the same lines.
    assert rules.build_lines(event, "EUR") == lines


@settings(max_examples=200, deadline=None)
@given(amount=money, fee_share=st.decimals(0, 1, places=3), pay_rate=rates, book_rate=rates)
def test_payments_balance_whatever_the_rates(amount, fee_share, pay_rate, book_rate):
    fee = (amount * fee_share).quantize(D("0.01"))
    event = rules.PaymentReceived(
        amount=amount, fee=fee, via="stripe", currency="USD", fx_rate=pay_rate,
        receivable_rate=book_rate,
    )  # fmt: skip
    _balanced(rules.build_lines(event, "GBP"))


def test_same_currency_needs_no_rounding_line():
    event = rules.InvoiceIssued(
        parts=(rules.InvoicePart(kind="services", net=D("100.00"), tax=D("20.00")),), currency="EUR"
    )
    assert [ln.role for ln in rules.build_lines(event, "EUR")] == [
        "accounts_receivable",
        "revenue_services",
        "tax_payable",
    ]


def test_a_residual_goes_to_the_rounding_account():
    # Three revenue lines of 0.01 USD at 1.5 round to 0.02 EUR each (0.06 in all), while the
    # 0.03 USD receivable rounds to 0.05 EUR: 0.01 EUR is left over.
    parts = tuple(rules.InvoicePart(kind="services", net=D("0.01")) for _ in range(3))
    lines = rules.build_lines(
        rules.InvoiceIssued(parts=parts, currency="USD", fx_rate=D("1.5")), "EUR"
    )
    _balanced(lines)
    assert lines[-1].role == "rounding"
    assert (lines[-1].debit, lines[-1].credit) == (D("0.01"), D(0))
    assert lines[0].debit == D("0.05")


@pytest.mark.parametrize(
    "event",
    [
        rules.TimeApproved(amount=D("-1"), currency="EUR"),
        rules.PaymentReceived(amount=D("10"), fee=D("11"), currency="EUR"),
        rules.PaymentReceived(amount=D("10"), applied=D("11"), currency="EUR"),
        rules.PrepaymentReceived(amount=D("10"), via="cash", currency="EUR"),
        rules.InvoiceIssued(parts=(rules.InvoicePart(kind="gift", net=D("1")),), currency="EUR"),
    ],
)
def test_impossible_events_are_refused(event):
    with pytest.raises(rules.RuleError):
        rules.build_lines(event, "EUR")


def test_recognition_is_pro_rata_by_day_and_the_last_day_takes_the_remainder():
    start, end = dt.date(2026, 1, 15), dt.date(2026, 2, 14)
    daily = []
    done = D(0)
    day = start
    while day <= end:
        to_date = rules.recognised_to_date(
            amount=D("1000.00"), currency="EUR", start=start, end=end, as_of=day
        )
        daily.append(to_date - done)
        done = to_date
        day += dt.timedelta(days=1)
    assert len(daily) == 31
    assert sum(daily) == D("1000.00")
    assert set(daily) <= {D("32.26"), D("32.25")}  # 1000/31 = 32.258…
    before = rules.recognised_to_date(
        amount=D("1000.00"), currency="EUR", start=start, end=end, as_of=dt.date(2026, 1, 1)
    )
    assert before == 0


@given(
    amount=money,
    days=st.integers(min_value=1, max_value=400),
    currency=st.sampled_from(["EUR", "JPY", "KWD"]),
)
def test_recognition_slices_always_add_up(amount, days, currency):
    from psa.kernel.money import round_money

    amount = round_money(amount, currency)
    start = dt.date(2026, 1, 1)
    end = start + dt.timedelta(days=days - 1)
    total = rules.recognised_to_date(
        amount=amount, currency=currency, start=start, end=end, as_of=end
    )
    assert total == amount
    previous = D(0)
    for offset in range(0, days, max(days // 7, 1)):
        now = rules.recognised_to_date(
            amount=amount, currency=currency, start=start, end=end,
            as_of=start + dt.timedelta(days=offset),
        )  # fmt: skip
        assert now >= previous
        previous = now


@pytest.mark.parametrize("from_credit, role", [(False, "accounts_receivable"),
                                               (True, "customer_prepayments")])  # fmt: skip
def test_a_refund_pays_cash_at_today_s_rate_and_books_the_fx_to_the_carrying_rate(
    from_credit, role
):
    # 1,000 EUR carried at 0.88 (880.00 GBP), paid back when the rate is 0.90 (900.00 GBP).
    event = rules.RefundPaid(
        currency="EUR", fx_rate=D("0.90"), carrying_rate=D("0.88"), amount=D("1000.00"),
        via="bank", from_credit=from_credit,
    )  # fmt: skip
    lines = rules.build_lines(event, "GBP")
    _balanced(lines)
    assert {ln.role: ln.debit - ln.credit for ln in lines} == {
        role: D("880.00"), "bank": D("-900.00"), "fx_gain_loss": D("20.00"),
    }  # fmt: skip
    same = rules.RefundPaid(currency="EUR", fx_rate=D("0.88"), amount=D("1000.00"), via="bank")
    assert "fx_gain_loss" not in {ln.role for ln in rules.build_lines(same, "GBP")}

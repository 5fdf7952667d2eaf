# ruff: noqa: F811 - fixtures imported from payment_fixtures
"""Late fees per currency, as worked examples: a GBP entity's final level charges 800 JPY,
5.00 GBP (or a percentage of the amount due with those minimums) and nothing in EUR."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core import mail

from billing.models import DunningLevel, DunningReminder, Invoice
from billing.services.dunning import dunning_level_save, dunning_levels_default, late_fee_for
from billing.services.payments import payment_record
from ledger.models import FxRate
from psa.automation.sweeps import dunning_run
from tests.billing.payment_fixtures import DUE, ISSUED_ON, eager, firm, make_invoice  # noqa: F401
from tests.crm.factories import CustomerFactory

pytestmark = pytest.mark.django_db
FINAL = DUE + dt.timedelta(days=14)  # the default final notice


@pytest.fixture
def final_level(firm, finance):
    dunning_levels_default(legal_entity=firm)
    level = DunningLevel.objects.get(legal_entity=firm, days_from_due=14)
    return _save(level, finance, percent="0", fees={"GBP": "5.00", "JPY": "800"})


def _save(level, actor, *, percent, fees):
    return dunning_level_save(
        legal_entity=level.legal_entity, actor=actor, level=level, name=level.name,
        days_from_due=level.days_from_due, subject=level.subject,
        body=level.body + "Late fee: {{ late_fee_invoice.number }}\n",
        late_fee_percent=percent, late_fees=fees,
    )  # fmt: skip


def _customer(firm, currency, rate):
    FxRate.objects.create(
        currency=currency, functional_currency="GBP", date=ISSUED_ON - dt.timedelta(days=1),
        rate=D(rate),
    )  # fmt: skip
    return CustomerFactory(
        legal_entity=firm, name=f"Customer in {currency}", currency=currency,
        payment_terms_days=14, billing_email=f"ap@{currency.lower()}.test",
    )  # fmt: skip


def _dun(invoice, capture):
    with capture(execute=True):
        dunning_run(today=FINAL)
    reminder = DunningReminder.objects.get(invoice=invoice)
    return reminder, reminder.late_fee_invoice


def test_a_jpy_invoice_gets_the_jpy_fee_without_decimals(
    firm, final_level, eager, django_capture_on_commit_callbacks
):
    invoice = make_invoice(_customer(firm, "JPY", "0.0052"), net=D("100000"), tax=D("20000"))
    _, fee = _dun(invoice, django_capture_on_commit_callbacks)
    assert (fee.currency, fee.total) == ("JPY", D("800"))
    assert fee.total == fee.total.to_integral_value()  # no sen: JPY has no minor unit
    assert fee.lines.get().unit_price == D("800")
    assert f"Late fee: {fee.number}" in mail.outbox[0].body
    assert not Invoice.objects.filter(currency="JPY", total=D("12.50")).exists()


def test_a_gbp_invoice_gets_the_gbp_fee(
    firm, final_level, eager, django_capture_on_commit_callbacks
):
    invoice = make_invoice(_customer(firm, "GBP", "1"))
    _, fee = _dun(invoice, django_capture_on_commit_callbacks)
    assert (fee.currency, fee.total, fee.customer_id) == ("GBP", D("5.00"), invoice.customer_id)


def test_a_eur_invoice_on_a_level_without_a_eur_fee_is_reminded_without_a_fee(
    firm, final_level, eager, django_capture_on_commit_callbacks
):
    invoice = make_invoice(_customer(firm, "EUR", "0.85"))
    reminder, fee = _dun(invoice, django_capture_on_commit_callbacks)
    assert fee is None and reminder.sent_at is not None
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ap@eur.test"]
    assert Invoice.objects.count() == 1


def test_a_percentage_above_the_minimum_is_charged_and_the_minimum_below_it(
    firm, finance, final_level, eager, django_capture_on_commit_callbacks
):
    # 2 % of 1,200.00 GBP is 24.00 GBP, above the 5.00 GBP minimum.
    _save(final_level, finance, percent="2", fees={})
    invoice = make_invoice(_customer(firm, "GBP", "1"))
    _, fee = _dun(invoice, django_capture_on_commit_callbacks)
    assert fee.total == D("24.00")
    # 0.1 % of 1,200.00 GBP is 1.20: the minimum, 5.00, applies.
    level = DunningLevel.objects.get(pk=final_level.pk)
    level.late_fee_percent = D("0.1")
    assert late_fee_for(level=level, currency="GBP", amount_due=D("1200.00")) == D("5.00")
    # 1.5 % of 123,457 JPY is 1,851.855: rounded to the yen, 1,852.
    level.late_fee_percent = D("1.5")
    assert late_fee_for(level=level, currency="JPY", amount_due=D("123457")) == D("1852")
    assert late_fee_for(level=level, currency="EUR", amount_due=D("123457")) == D(0)


def test_nothing_due_raises_no_fee(firm, final_level, eager, django_capture_on_commit_callbacks):
    for nothing in (D(0), D("-5.00")):
        assert late_fee_for(level=final_level, currency="GBP", amount_due=nothing) == D(0)
    invoice = make_invoice(_customer(firm, "GBP", "1"))
    payment_record(invoice=invoice, amount="1200.00")
    with django_capture_on_commit_callbacks(execute=True):
        dunning_run(today=FINAL)
    assert not DunningReminder.objects.exists()
    assert Invoice.objects.count() == 1 and mail.outbox == []


def test_the_editor_sets_the_percentage_and_fees_per_currency_with_a_decimal_comma(
    client, firm, finance, final_level
):
    client.force_login(finance)
    html = client.get("/billing/dunning/?entity=uk").content.decode()
    assert 'value="800"' in html and "Fee in JPY" in html and 'value="5.00"' in html
    form = {"entity": "uk", "level": final_level.pk, "name": "Final", "days_from_due": "14",
            "subject": final_level.subject, "body": final_level.body, "is_active": "1"}  # fmt: skip
    ok = client.post(
        "/billing/dunning/",
        {**form, "late_fee_percent": "1,5", "fee_currency": ["GBP", "JPY", "eur"],
         "fee_amount": ["5,50", "", "6,00"]},
    )  # fmt: skip
    assert ok.status_code == 302
    final_level.refresh_from_db()
    assert final_level.late_fee_percent == D("1.5")
    assert dict(final_level.fees.values_list("currency", "amount")) == {
        "GBP": D("5.50"), "EUR": D("6.00"),
    }  # fmt: skip
    bad = client.post(
        "/billing/dunning/",
        {**form, "late_fee_percent": "150", "fee_currency": ["GBP", "JPY"],
         "fee_amount": ["5,50", "800,5"]},
    )  # fmt: skip
    assert bad.status_code == 400
    html = bad.content.decode()
    # Each error stands beside its field, and the typed value stays.
    assert 'value="800,5" aria-invalid="true"' in html
    assert "A positive amount in whole JPY (no decimals)" in html
    assert f'id="percent-{final_level.pk}-error"' in html and "A percentage from 0 to 100" in html
    assert dict(final_level.fees.values_list("currency", "amount"))["GBP"] == D("5.50")

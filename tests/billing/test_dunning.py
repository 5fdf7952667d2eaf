# ruff: noqa: F811 - fixtures imported from payment_fixtures
"""Dunning: levels from the due date, one reminder per level per invoice, the highest level
only after a gap, optional late fee as its own invoice, stopped by payment, editable templates."""

import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from django.core import mail
from django.db import connections

from billing.models import DunningLevel, DunningReminder, Invoice
from billing.services.dunning import dunning_level_save, dunning_levels_default
from billing.services.payments import payment_record
from psa.automation.sweeps import dunning_run
from psa.kernel import errors
from tests.billing.payment_fixtures import DUE, customer, eager, firm, invoice  # noqa: F401


@pytest.fixture
def levels(firm):
    return dunning_levels_default(legal_entity=firm)


def _run(day, capture):
    with capture(execute=True):
        return dunning_run(today=day)


@pytest.mark.django_db
def test_each_level_is_sent_once_on_its_day_and_payment_stops_dunning(
    invoice, levels, eager, django_capture_on_commit_callbacks
):
    cap = django_capture_on_commit_callbacks
    _run(DUE - dt.timedelta(days=4), cap)
    assert mail.outbox == []
    _run(DUE - dt.timedelta(days=3), cap)
    _run(DUE - dt.timedelta(days=3), cap)  # twice on the same day: one reminder
    (upcoming,) = mail.outbox
    assert upcoming.to == ["ap@northwind.test"]
    assert upcoming.subject == f"Invoice {invoice.number} is due soon"
    assert f"/pay/{invoice.pay_token}/" in upcoming.body and "1,200.00 GBP" in upcoming.body
    _run(DUE, cap)
    _run(DUE + dt.timedelta(days=7), cap)
    assert [m.subject.split(":")[0] for m in mail.outbox[1:]] == [
        f"Invoice {invoice.number} is due today", "Reminder",
    ]  # fmt: skip
    payment_record(invoice=invoice, amount="1200.00")
    _run(DUE + dt.timedelta(days=14), cap)
    assert len(mail.outbox) == 3
    assert DunningReminder.objects.filter(invoice=invoice).count() == 3


@pytest.mark.django_db
def test_after_a_gap_only_the_highest_level_reached_is_sent(
    invoice, levels, eager, django_capture_on_commit_callbacks
):
    _run(DUE + dt.timedelta(days=20), django_capture_on_commit_callbacks)
    (reminder,) = DunningReminder.objects.all()
    assert reminder.level.days_from_due == 14
    assert len(mail.outbox) == 1 and reminder.sent_at is not None


@pytest.mark.django_db
def test_a_level_with_a_late_fee_issues_a_separate_fee_invoice_once(
    invoice, levels, finance, eager, django_capture_on_commit_callbacks
):
    final = DunningLevel.objects.get(days_from_due=14)
    dunning_level_save(
        legal_entity=final.legal_entity, actor=finance, level=final, name=final.name,
        days_from_due=14, subject=final.subject,
        body=final.body + "Late fee: {{ late_fee_invoice.number }}\n", late_fees={"GBP": "25.00"},
    )  # fmt: skip
    _run(DUE + dt.timedelta(days=14), django_capture_on_commit_callbacks)
    _run(DUE + dt.timedelta(days=15), django_capture_on_commit_callbacks)
    fee = Invoice.objects.exclude(pk=invoice.pk).get()
    assert (fee.status, fee.total, fee.customer_id) == ("issued", D("25.00"), invoice.customer_id)
    assert fee.lines.get().description.startswith(f"Late fee on invoice {invoice.number}")
    reminder = DunningReminder.objects.get(invoice=invoice)
    assert reminder.late_fee_invoice == fee
    assert f"Late fee: {fee.number}" in mail.outbox[0].body


@pytest.mark.django_db
def test_level_templates_are_validated_naming_the_field(firm, finance):
    with pytest.raises(errors.ValidationFailed) as caught:
        dunning_level_save(
            legal_entity=firm, actor=finance, name="Bad", days_from_due="x",
            subject="{% if %}", body="", late_fees={"GBP": "-1"},
        )  # fmt: skip
    assert set(caught.value.fields) == {"days_from_due", "subject", "body", "late_fee_GBP"}
    assert not DunningLevel.objects.filter(name="Bad").exists()


@pytest.mark.django_db(transaction=True)
def test_two_dunning_runs_at_once_send_one_reminder(invoice, levels):
    barrier = threading.Barrier(2)
    failures = []

    def run():
        try:
            barrier.wait()
            dunning_run(today=DUE + dt.timedelta(days=7))
        except Exception as exc:  # reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert DunningReminder.objects.count() == 1

# ruff: noqa: F811 - fixtures imported from payment_fixtures
"""Sensible defaults on (#14 item 3): every legal entity has dunning levels, so "send payment
reminders" does something out of the box; an invoice paid before it was e-mailed (a 0.00
invoice, one a prepaid fund paid at issue) is e-mailed as a receipt; a credit note reaches the
customer who got the invoice it cancels."""

import datetime as dt
import importlib
from decimal import Decimal as D

import pytest
from django.apps import apps as django_apps
from django.core import mail

from billing.models import DunningLevel, DunningReminder, Invoice, InvoiceKind, InvoiceStatus
from billing.services import invoice_send, invoice_void
from billing.services.dunning import DEFAULT_BODY, DEFAULTS
from billing.services.payments import payment_record
from billing.services.recurring import billing_terms_set
from ledger.services import books_setup
from psa.automation import cycle
from psa.automation.jobs import job_run
from psa.automation.policies import automation_policy_set
from psa.automation.sweeps import dunning_run
from psa.kernel.models import MailMessage
from tests.billing.payment_fixtures import DUE, ISSUED_ON, customer, eager, firm, invoice  # noqa: F401
from tests.billing.test_billing_models import project, run, week_of_time
from tests.ledger.factories import books

pytestmark = pytest.mark.django_db

DEFAULT_DAYS = [(-3, "Friendly reminder"), (0, "Due today"), (7, "Overdue 7 days"),
                (14, "Final notice")]  # fmt: skip


def _levels(entity):
    return list(
        DunningLevel.objects.filter(legal_entity=entity)
        .order_by("days_from_due")
        .values_list("days_from_due", "name")
    )


def test_a_new_legal_entity_starts_with_the_four_default_dunning_levels():
    entity = books(code="new", functional_currency="EUR", name="New Co")
    assert _levels(entity) == DEFAULT_DAYS
    books_setup(legal_entity=entity)  # set up again (the admin saves it again): nothing doubled
    assert len(_levels(entity)) == 4


def test_an_entity_whose_levels_finance_chose_keeps_them_when_set_up_again(finance):
    entity = books(code="own", functional_currency="GBP", name="Own Co")
    DunningLevel.objects.filter(legal_entity=entity).exclude(days_from_due=0).delete()
    books_setup(legal_entity=entity)
    assert _levels(entity) == [(0, "Due today")]


def test_the_migration_gives_existing_entities_without_levels_the_defaults():
    bare = books(code="bare", functional_currency="GBP", name="Bare Co")
    chosen = books(code="chosen", functional_currency="GBP", name="Chosen Co")
    DunningLevel.objects.filter(legal_entity=bare).delete()  # as every entity was before
    DunningLevel.objects.filter(legal_entity=chosen).exclude(days_from_due=7).delete()
    migration = importlib.import_module(
        "billing.migrations.0011_default_dunning_levels_for_existing_entities"
    )
    migration.add_default_levels(django_apps, None)
    assert _levels(bare) == DEFAULT_DAYS
    assert _levels(chosen) == [(7, "Overdue 7 days")]  # had levels: left alone
    final = DunningLevel.objects.get(legal_entity=bare, days_from_due=14)
    assert final.body == DEFAULT_BODY.replace("{{ message }}", DEFAULTS[-1][3])


def test_reminders_go_out_with_the_policy_on_and_no_setup_by_finance(
    firm, invoice, eager, django_capture_on_commit_callbacks
):
    automation_policy_set(legal_entity=firm, actor=None, values={"dunning": "on"})
    with django_capture_on_commit_callbacks(execute=True):
        dunning_run(today=DUE - dt.timedelta(days=3))
    (reminder,) = DunningReminder.objects.all()
    assert reminder.level.name == "Friendly reminder" and reminder.sent_at is not None
    (sent,) = mail.outbox
    assert sent.subject == f"Invoice {invoice.number} is due soon"
    assert MailMessage.objects.get().idempotency_key == (
        f"dunning:{invoice.pk}:level{reminder.level_id}"
    )


def test_an_invoice_a_prepaid_fund_paid_at_issue_is_mailed_as_a_paid_receipt(
    customer, eager, django_capture_on_commit_callbacks
):
    firm = customer.legal_entity
    fund = project(customer, "prepaid_fund")
    billing_terms_set(project=fund, actor=None, fund_threshold="1000", fund_top_up="5000")
    top_up = run(firm, today=ISSUED_ON).invoices.get()
    payment_record(invoice=top_up, amount="5000.00")
    week_of_time(fund, hours=D("2"))
    drawn = run(firm, today=ISSUED_ON).invoices.get()
    assert (drawn.status, drawn.amount_due) == (InvoiceStatus.PAID, D("0.00"))
    automation_policy_set(legal_entity=firm, actor=None, values={"auto_send": "on"})
    with django_capture_on_commit_callbacks(execute=True), job_run("issue-and-send") as job:
        cycle.issue_and_send(today=ISSUED_ON, run=job)
    receipt = next(m for m in mail.outbox if drawn.number in m.subject)
    assert receipt.subject == f"Invoice {drawn.number} from Acme UK (paid)"
    assert "paid in full" in receipt.body and "receipt" in receipt.body
    assert "/pay/" not in receipt.body and "bank transfer" not in receipt.body
    assert Invoice.objects.get(pk=drawn.pk).sent_at is not None


def test_a_credit_note_is_mailed_to_the_customer_who_got_the_invoice(
    invoice, finance, eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice_send(invoice=invoice, actor=finance)
    with django_capture_on_commit_callbacks(execute=True):
        credit = invoice_void(invoice=invoice, actor=finance, reason="Wrong rate")
    assert credit.kind == InvoiceKind.CREDIT_NOTE
    _sent, cancelled = mail.outbox
    assert cancelled.subject == f"Credit note {credit.number} from Acme UK"
    assert cancelled.to == ["ap@northwind.test"] and invoice.number in cancelled.body
    assert cancelled.attachments[0][0] == f"{credit.number}.pdf"
    assert Invoice.objects.get(pk=credit.pk).sent_at is not None


def test_a_credit_note_for_an_invoice_never_sent_is_not_mailed(
    invoice, finance, eager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice_void(invoice=invoice, actor=finance, reason="Never sent")
    assert mail.outbox == [] and not MailMessage.objects.exists()

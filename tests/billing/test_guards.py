"""PostgreSQL itself refuses wrong changes to billed work (billing 0006): these tests bypass the
ORM with raw SQL, and each refusal has a control where the same statement is legitimate.

They run with transaction=True because the release and void checks are deferred constraint
triggers that fire at COMMIT.
"""

from contextlib import contextmanager
from decimal import Decimal as D

import pytest
from django.db import IntegrityError, connection, transaction

from billing.models import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    TimeEntryBilling,
)
from billing.services import billing_run_execute, invoice_send, invoice_void
from billing.services.payments import payment_record
from billing.services.pdf import invoice_pdf_store
from psa.kernel.mail import mail_send
from psa.kernel.models import MailMessage
from tests.billing.test_billing import PERIOD_END, TODAY, firm  # noqa: F401 - the fixture
from tests.timesheets.factories import TimeEntryFactory

pytestmark = pytest.mark.django_db(transaction=True)

LINK_TABLES = (
    "billing_timeentrybilling",
    "billing_expensebilling",
    "billing_milestonebilling",
    "billing_schedulebilling",
)


@contextmanager
def raw_sql():
    """A cursor in its own transaction: deferred triggers fire when the block ends."""
    with transaction.atomic(), connection.cursor() as cur:
        yield cur


def _run(firm, *, issue):  # noqa: F811 - the fixture's name
    billing_run_execute(
        legal_entity=firm, period_end=PERIOD_END, actor_label="test", issue=issue, today=TODAY
    )
    return Invoice.objects.filter(customer__name="Northwind", kind="invoice").latest("id")


def _link(invoice):
    return TimeEntryBilling.objects.filter(line__invoice=invoice).order_by("id").first()


@pytest.fixture
def issued(firm):  # noqa: F811
    return _run(firm, issue=True)


@pytest.fixture
def draft(firm):  # noqa: F811
    return _run(firm, issue=False)


# Lines: only a draft's.

LINE_STATEMENTS = {
    "edit": "UPDATE billing_invoiceline SET net = net + 1 WHERE invoice_id = {id}",
    "add": (
        "INSERT INTO billing_invoiceline (invoice_id, position, kind, description, quantity, "
        "unit_price, net, tax_rate_value, tax, accrued, written_down_hours) "
        "VALUES ({id}, 99, 'adjustment', 'extra', 1, 10, 10, 0, 0, 0, 0)"
    ),
    "delete": "DELETE FROM billing_invoiceline WHERE invoice_id = {id} AND position = {pos}",
}


@pytest.mark.parametrize("action", LINE_STATEMENTS)
def test_an_issued_invoices_lines_cannot_be_edited_added_or_deleted(issued, action):
    statement = LINE_STATEMENTS[action].format(id=issued.pk, pos=1)
    with pytest.raises(IntegrityError, match="is issued"), raw_sql() as cur:
        cur.execute(statement)
    assert [ln.net for ln in InvoiceLine.objects.filter(invoice=issued)] == [D("4500.00")]


def test_control_a_drafts_lines_can_be_edited_added_and_deleted(draft):
    with raw_sql() as cur:
        for action in ("edit", "add", "delete"):
            cur.execute(LINE_STATEMENTS[action].format(id=draft.pk, pos=99))
            assert cur.rowcount == 1
    assert [ln.net for ln in InvoiceLine.objects.filter(invoice=draft)] == [D("4501.00")]


# Invoices: once issued, only what moves after issue.

FROZEN = {
    "totals": "subtotal = subtotal + 1, total = total + 1",
    "tax": "tax_total = tax_total + 1, total = total + 1",
    "currency": "currency = 'EUR'",
    "number": "number = 'INV-2026-99999'",
    "issue_date": "issue_date = issue_date - 1",
    "fx_rate": "fx_rate = 2",
    "customer": "customer_id = (SELECT id FROM crm_customer WHERE name = 'Halcyon')",
    "legal_entity": "legal_entity_id = legal_entity_id + 1000",
    "kind": "kind = 'credit_note', credits_id = id",
    "period_end": "period_end = period_end + 1",
    "reverse_charge_note": "reverse_charge_note = 'VAT reverse charge'",
}


@pytest.mark.parametrize("column", FROZEN)
def test_an_issued_invoices_money_and_identity_cannot_change(issued, column):
    with pytest.raises(IntegrityError, match="cannot change"), raw_sql() as cur:
        cur.execute(f"UPDATE billing_invoice SET {FROZEN[column]} WHERE id = {issued.pk}")
    assert Invoice.objects.get(pk=issued.pk).total == issued.total == D("5400.00")


@pytest.mark.parametrize("column", ["totals", "tax", "currency", "period_end"])
def test_control_a_drafts_money_can_change(draft, column):
    with raw_sql() as cur:
        cur.execute(f"UPDATE billing_invoice SET {FROZEN[column]} WHERE id = {draft.pk}")
        assert cur.rowcount == 1


def test_control_what_moves_after_issue_may_move(issued):
    with raw_sql() as cur:
        cur.execute(
            "UPDATE billing_invoice SET amount_paid = 100, status = 'partially_paid', "
            "sent_at = now(), pdf = 'invoices/2026/x.pdf', updated_at = now(), "
            f"pay_token = 'rotated', billing_run_id = NULL, due_date = due_date + 30 "
            f"WHERE id = {issued.pk}"
        )
    assert Invoice.objects.get(pk=issued.pk).status == InvoiceStatus.PARTIALLY_PAID


def test_an_issued_invoice_cannot_be_deleted_or_go_back_to_draft(issued):
    with pytest.raises(IntegrityError, match="cannot return to draft"), raw_sql() as cur:
        cur.execute(
            "UPDATE billing_invoice SET status = 'draft', number = NULL, issue_date = NULL "
            f"WHERE id = {issued.pk}"
        )
    with pytest.raises(IntegrityError, match="cannot be deleted"), raw_sql() as cur:
        cur.execute(f"DELETE FROM billing_invoice WHERE id = {issued.pk}")
    assert Invoice.objects.get(pk=issued.pk).status == InvoiceStatus.ISSUED


def test_control_a_discarded_draft_goes_with_its_links_and_lines(draft):
    with raw_sql() as cur:
        cur.execute(
            "DELETE FROM billing_timeentrybilling WHERE line_id IN "
            f"(SELECT id FROM billing_invoiceline WHERE invoice_id = {draft.pk})"
        )
        assert cur.rowcount == 5
        cur.execute(f"DELETE FROM billing_invoiceline WHERE invoice_id = {draft.pk}")
        cur.execute(f"DELETE FROM billing_invoice WHERE id = {draft.pk}")
    assert not Invoice.objects.filter(pk=draft.pk).exists()


def test_an_invoice_is_void_only_with_an_issued_credit_note_and_void_is_final(issued, finance):
    with pytest.raises(IntegrityError, match="without an issued credit note"), raw_sql() as cur:
        cur.execute(f"UPDATE billing_invoice SET status = 'void' WHERE id = {issued.pk}")
    assert Invoice.objects.get(pk=issued.pk).status == InvoiceStatus.ISSUED
    invoice_void(invoice=issued, actor=finance, reason="Wrong rate", today=TODAY)  # control
    with pytest.raises(IntegrityError, match="void is final"), raw_sql() as cur:
        cur.execute(f"UPDATE billing_invoice SET status = 'issued' WHERE id = {issued.pk}")
    assert Invoice.objects.get(pk=issued.pk).status == InvoiceStatus.VOID


# Links: written only on a draft; released only by voiding, for good.


def test_a_link_of_an_issued_invoice_cannot_be_released_without_its_credit_note(issued):
    link = _link(issued)
    with pytest.raises(IntegrityError, match="without an issued credit note"), raw_sql() as cur:
        cur.execute(f"UPDATE billing_timeentrybilling SET released_at = now() WHERE id = {link.pk}")
    assert TimeEntryBilling.objects.get(pk=link.pk).released_at is None


def test_control_the_same_release_commits_when_the_invoice_is_voided_with_it(issued, finance):
    link = _link(issued)
    with raw_sql() as cur:
        cur.execute(f"UPDATE billing_timeentrybilling SET released_at = now() WHERE id = {link.pk}")
        invoice_void(invoice=issued, actor=finance, reason="Wrong rate", today=TODAY)
    assert TimeEntryBilling.objects.get(pk=link.pk).released_at is not None
    assert not TimeEntryBilling.objects.filter(line__invoice=issued, released_at=None).exists()


def test_a_release_is_final(issued, finance):
    invoice_void(invoice=issued, actor=finance, reason="Wrong rate", today=TODAY)
    link = _link(issued)
    for value in ("NULL", "now() + interval '1 day'"):
        with pytest.raises(IntegrityError, match="a release is final"), raw_sql() as cur:
            cur.execute(
                f"UPDATE billing_timeentrybilling SET released_at = {value} WHERE id = {link.pk}"
            )
    assert TimeEntryBilling.objects.get(pk=link.pk).released_at == link.released_at


def test_a_link_of_an_issued_invoice_cannot_be_deleted_moved_or_added(issued):
    link = _link(issued)
    entry = TimeEntryFactory(project=link.time_entry.project, status="approved")
    with pytest.raises(IntegrityError, match="cannot be deleted"), raw_sql() as cur:
        cur.execute(f"DELETE FROM billing_timeentrybilling WHERE id = {link.pk}")
    with pytest.raises(IntegrityError, match="cannot be changed"), raw_sql() as cur:
        cur.execute(
            f"UPDATE billing_timeentrybilling SET time_entry_id = {entry.pk} WHERE id = {link.pk}"
        )
    with pytest.raises(IntegrityError, match="on a draft invoice"), raw_sql() as cur:
        cur.execute(
            "INSERT INTO billing_timeentrybilling (time_entry_id, line_id) "
            f"VALUES ({entry.pk}, {link.line_id})"
        )
    assert TimeEntryBilling.objects.filter(line__invoice=issued).count() == 5


def test_control_a_drafts_links_can_be_added_moved_and_deleted(draft):
    link = _link(draft)
    entry = TimeEntryFactory(project=link.time_entry.project, status="approved")
    with raw_sql() as cur:
        cur.execute(
            f"UPDATE billing_timeentrybilling SET time_entry_id = {entry.pk} WHERE id = {link.pk}"
        )
        cur.execute(
            "INSERT INTO billing_timeentrybilling (time_entry_id, line_id) "
            f"VALUES ({link.time_entry_id}, {link.line_id})"
        )
        cur.execute(f"DELETE FROM billing_timeentrybilling WHERE id = {link.pk}")
    assert TimeEntryBilling.objects.filter(line__invoice=draft).count() == 5


def test_every_link_table_has_both_triggers():
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relname = ANY(%s) AND NOT t.tgisinternal AND t.tgenabled = 'O'",
            [list(LINK_TABLES)],
        )
        found = set(cur.fetchall())
    assert found == {(t, f"{t}_{kind}") for t in LINK_TABLES for kind in ("guard", "release")}


# The services: issue, void, re-bill after void, payment, PDF and send.


def test_the_service_paths_still_work(firm, finance, tmp_path, settings):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path
    first = _run(firm, issue=True)
    credit = invoice_void(invoice=first, actor=finance, reason="Wrong rate", today=TODAY)
    assert (credit.status, Invoice.objects.get(pk=first.pk).status) == ("issued", "void")
    rebilled = _run(firm, issue=True)
    assert rebilled.pk != first.pk and rebilled.total == D("5400.00")
    payment_record(invoice=rebilled, amount="400.00", received_on=TODAY, actor=finance)
    payment_record(invoice=rebilled, amount="5000.00", received_on=TODAY, actor=finance)
    invoice_send(invoice=rebilled, actor=finance)
    message = MailMessage.objects.get(idempotency_key=f"invoice:{rebilled.pk}:send")
    assert mail_send(message_id=message.pk) == "delivered"  # renders the PDF and sends it
    invoice_pdf_store(Invoice.objects.get(pk=rebilled.pk))
    after = Invoice.objects.get(pk=rebilled.pk)
    assert (after.status, after.amount_paid, after.total) == ("paid", D("5400.00"), D("5400.00"))
    assert after.sent_at and after.pdf
    invoice_pdf_store(after)  # re-rendering after payment is allowed too

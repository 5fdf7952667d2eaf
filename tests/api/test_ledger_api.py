"""The books' write API: a document's own entries are reversed only by the document's action;
manual entries are posted (every bad field named) and reversed by finance."""

import datetime as dt
from decimal import Decimal as D

import pytest

from billing.models import Invoice, InvoiceStatus, TaxRate
from billing.services import billing_run_execute
from billing.services.payments import payment_record
from ledger.models import JournalEntry
from ledger.selectors import balances_by_role, trial_balance
from ledger.services import period_soft_lock
from psa.kernel.models import AuditEvent
from tests.api.conftest import as_user
from tests.crm.factories import CustomerFactory
from tests.ledger.factories import books, manual_entry
from tests.projects.factories import AssignmentFactory, ProjectFactory, RateCardFactory
from tests.timesheets.factories import TimeEntryFactory
from timesheets.services.accrual import time_approved_accrue

pytestmark = pytest.mark.django_db
ENTRIES = "/api/v1/ledger/uk/entries/"


@pytest.fixture
def flow(finance, project_manager, consultant):
    """Time approved (accrued to WIP), invoiced and issued, then partly paid."""
    uk = books(code="uk", functional_currency="GBP", name="Acme UK")
    TaxRate.objects.create(legal_entity=uk, name="VAT 20%", rate=D("0.20"), is_default=True)
    customer = CustomerFactory(legal_entity=uk, name="Globex", account_manager=finance)
    project = ProjectFactory(customer=customer, code="p1", manager=project_manager)
    AssignmentFactory(project=project, person=consultant)
    RateCardFactory(project=project, rate=D("100.00"))
    entries = [
        TimeEntryFactory(project=project, person=consultant, date=dt.date(2026, 11, day),
                         status="approved")
        for day in (16, 17)
    ]  # fmt: skip
    time_approved_accrue(entry_ids=[e.pk for e in entries], actor=finance)
    billing_run_execute(legal_entity=uk, period_end=dt.date(2026, 11, 30), customer=customer,
                        actor=finance, issue=True, today=dt.date(2026, 12, 1))  # fmt: skip
    invoice = Invoice.objects.get(kind="invoice")
    payment = payment_record(invoice=invoice, amount=D("10.00"), actor=finance)
    return {"entity": uk, "invoice": invoice, "payment": payment}


def _reverse(client, entry):
    return client.post(f"{ENTRIES}{entry.pk}/reverse/", {"reason": "wrong"}, format="json")


def _refused(response, *words):
    assert response.status_code == 409, response.content
    body = response.json()["error"]
    assert body["code"] == "source_owned_entry"
    for word in words:
        assert word in body["message"]
    return body


def test_reversing_an_invoice_s_own_entry_is_refused_naming_void(flow, finance):
    invoice = flow["invoice"]
    entry = JournalEntry.objects.get(source_type="invoice", source_id=str(invoice.pk))
    before = JournalEntry.objects.count(), AuditEvent.objects.count()
    body = _refused(_reverse(as_user(finance), entry), "void the invoice", invoice.number)
    assert body["message"] == (
        f"This entry was posted by invoice {invoice.number}; void the invoice to reverse it."
    )
    # Nothing written: the invoice and its receivable still agree.
    assert (JournalEntry.objects.count(), AuditEvent.objects.count()) == before
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    receivable = balances_by_role(legal_entity=flow["entity"], as_of=dt.date(2030, 1, 1))
    assert receivable["accounts_receivable"] == invoice.total - invoice.amount_paid > 0


def test_reversing_an_accrual_is_refused_and_wip_is_untouched(flow, finance):
    entry = JournalEntry.objects.get(source_type="time_approval")
    wip = balances_by_role(legal_entity=flow["entity"], as_of=dt.date(2030, 1, 1))
    before = JournalEntry.objects.count()
    _refused(_reverse(as_user(finance), entry), "time approval accrual", "reject or re-bill")
    assert JournalEntry.objects.count() == before
    assert balances_by_role(legal_entity=flow["entity"], as_of=dt.date(2030, 1, 1)) == wip


def test_reversing_a_payment_s_entry_is_refused_naming_refund(flow, finance):
    entry = JournalEntry.objects.get(source_type="payment")
    before = JournalEntry.objects.count()
    _refused(_reverse(as_user(finance), entry), "payment", "refund the payment")
    assert JournalEntry.objects.count() == before


def test_the_entry_page_offers_no_reversal_for_a_document_s_entry(client, flow, finance):
    entry = JournalEntry.objects.get(source_type="invoice")
    client.force_login(finance)
    html = client.get(f"/ledger/uk/entries/{entry.pk}/").content.decode()
    assert "void the invoice to reverse it" in html
    assert "Post the reversing entry" not in html


def test_a_manual_entry_reverses_and_the_books_balance(finance):
    uk = books(code="uk", functional_currency="GBP")
    client = as_user(finance)
    posted = client.post(ENTRIES, {
        "date": "2026-03-02", "memo": "Reclassify opening capital",
        "lines": [{"account": "1000", "debit": "250.00", "description": "Bank"},
                  {"account": "3000", "credit": "250.00"}],
    }, format="json")  # fmt: skip
    assert posted.status_code == 201, posted.content
    entry = JournalEntry.objects.get(pk=posted.json()["id"])
    assert entry.source_type == "manual"
    assert [(ln["account"], ln["debit"], ln["credit"]) for ln in posted.json()["lines"]] == [
        ("1000", "250.00", "0.00"), ("3000", "0.00", "250.00"),
    ]  # fmt: skip
    assert AuditEvent.objects.filter(action="ledger.manual_entry_posted").exists()
    reversal = _reverse(client, entry)
    assert reversal.status_code == 201, reversal.content
    rows = trial_balance(legal_entity=uk, as_of=dt.date(2030, 1, 1))
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows) == D("500.00")
    assert all(r.balance == 0 for r in rows)
    # A reversal is not reversed in turn: post a new manual entry instead.
    again = client.post(f"{ENTRIES}{reversal.json()['id']}/reverse/", {"reason": "x"},
                        format="json")  # fmt: skip
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "reversal_not_reversible"


def _post(client, lines, **extra):
    body = {"date": "2026-03-02", "memo": "Accrue audit fee", "lines": lines, **extra}
    return client.post(ENTRIES, body, format="json")


BALANCED = [{"account": "6200", "debit": "80.00"}, {"account": "2390", "credit": "80.00"}]


@pytest.mark.parametrize(
    ("lines", "extra", "field"),
    [
        ([{"account": "6200", "debit": "80.00"}, {"account": "2390", "credit": "79.99"}], {},
         "lines"),
        ([{"account": "6200", "debit": "80.00"}], {}, "lines"),
        ([{"account": "6200", "debit": "80.00"}, {"account": "9999", "credit": "80.00"}], {},
         "lines[1].account"),
        ([{"account": "6200", "debit": "80.00", "credit": "1.00"},
          {"account": "2390", "credit": "79.00"}], {}, "lines[0].debit"),
        ([{"account": "6200", "debit": "80.005"}, {"account": "2390", "credit": "80.00"}], {},
         "lines[0].debit"),
        ([{"account": "6200"}, {"account": "2390", "credit": "80.00"}], {}, "lines[0].debit"),
        (BALANCED, {"memo": ""}, "memo"),
        (BALANCED, {"memo": "   "}, "memo"),
        (BALANCED, {"date": "9999-12-31"}, "date"),
        (BALANCED, {"date": "0001-01-01"}, "date"),
        (BALANCED, {"dry_run": True}, "dry_run"),
    ],
)  # fmt: skip
def test_manual_post_names_the_offending_field(finance, lines, extra, field):
    books(code="uk", functional_currency="GBP")
    response = _post(as_user(finance), lines, **extra)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert not JournalEntry.objects.exists()


def test_manual_post_refuses_another_entity_s_account(finance):
    books(code="uk", functional_currency="GBP")
    other = books(code="us", functional_currency="USD")
    other.accounts.create(code="9100", name="US only", type="asset")
    response = _post(as_user(finance), [BALANCED[0], {"account": "9100", "credit": "80.00"}])
    assert response.status_code == 400
    assert "lines[1].account" in response.json()["error"]["fields"]


def test_manual_post_refuses_a_locked_period(finance):
    uk = books(code="uk", functional_currency="GBP")
    period_soft_lock(legal_entity=uk, through=dt.date(2026, 3, 31), actor=finance)
    response = _post(as_user(finance), BALANCED)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "period_locked"
    assert "date" in response.json()["error"]["fields"]
    assert not JournalEntry.objects.exists()


def test_manual_post_is_for_finance_only(consultant, admin_user):
    books(code="uk", functional_currency="GBP")
    assert _post(as_user(consultant), BALANCED).status_code == 403
    assert not JournalEntry.objects.exists()
    assert _post(as_user(admin_user), BALANCED).status_code == 201


def test_manual_entries_helper_posts_a_reversible_entry(finance):
    uk = books(code="uk", functional_currency="GBP")
    entry = manual_entry(uk, date=dt.date(2026, 3, 2), amount="5.00", actor=finance)
    assert _reverse(as_user(finance), entry).status_code == 201

"""Two workers running issue-and-send at the same moment (a duplicated beat, or a slow run
overlapping the next): each invoice is sent once. The control removes the claim and shows
the race is real: both workers send."""

import contextlib
import datetime as dt
import threading
from decimal import Decimal as D

import pytest
from django.db import connection

from billing.models import Invoice
from billing.services import billing_run_execute, invoice_issue
from psa.automation import cycle
from psa.automation.jobs import job_run
from psa.automation.policies import automation_policy_set
from psa.kernel.models import AuditEvent
from tests.crm.factories import CustomerFactory
from tests.ledger.factories import books
from tests.projects.factories import ProjectFactory, RateCardFactory
from tests.timesheets.factories import TimeEntryFactory

pytestmark = pytest.mark.django_db(transaction=True)
DEC_1 = dt.date(2026, 12, 1)


@pytest.fixture
def issued():
    firm = books(code="uk", functional_currency="GBP")
    customer = CustomerFactory(legal_entity=firm, currency="GBP", billing_email="ap@x.test")
    project = ProjectFactory(customer=customer)
    RateCardFactory(project=project, rate=D("100"), currency="GBP")
    TimeEntryFactory(project=project, date=dt.date(2026, 11, 16), hours=8, status="approved")
    automation_policy_set(
        legal_entity=firm, actor=None,
        values={"auto_issue": "on", "auto_send": "on", "invoicing": "monthly"},
    )  # fmt: skip
    run = billing_run_execute(legal_entity=firm, period_end=dt.date(2026, 11, 30))
    return invoice_issue(invoice=run.invoices.get(), today=DEC_1)


def _race(monkeypatch) -> None:
    barrier = threading.Barrier(2)
    real_noted = cycle._noted

    def check_then_meet(obj, action):
        seen = real_noted(obj, action)
        # Both workers have the invoice and found no send recorded: now both decide.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)
        return seen

    monkeypatch.setattr(cycle, "_noted", check_then_meet)

    def worker():
        try:
            with job_run("issue-and-send") as run:
                cycle.issue_and_send(today=DEC_1, run=run)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_two_workers_at_once_send_each_invoice_once(issued, monkeypatch):
    _race(monkeypatch)
    assert AuditEvent.objects.filter(action="invoice.send_requested").count() == 1
    assert AuditEvent.objects.filter(action="automation.sent").count() == 1


def test_control_without_the_claim_both_workers_send(issued, monkeypatch):
    def no_lock(pk, **still):
        return Invoice.objects.select_related("customer").filter(pk=pk, **still).first()

    monkeypatch.setattr(cycle, "_claim_invoice", no_lock)
    _race(monkeypatch)
    assert AuditEvent.objects.filter(action="invoice.send_requested").count() == 2

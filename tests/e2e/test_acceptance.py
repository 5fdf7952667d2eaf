"""The acceptance test of the product's promise: work turns into cash and correct books with
no human action.

Real processes and services: a Celery worker and Celery beat (on a short interval) against
Redis and PostgreSQL, a local SMTP server, the local fake Stripe (which calls our webhook like
Stripe does), a local accounting endpoint, and the product's clock, which the test moves
forward instead of sleeping for days. The only person is the consultant who submits a week.
"""

from __future__ import annotations

import datetime as dt
import email
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from decimal import Decimal as D
from email import policy as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db.models import Sum

from billing.models import (
    AttemptStatus,
    DunningReminder,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentAttempt,
    PaymentMethod,
    StripeCustomer,
    StripeEvent,
    TaxRate,
)
from ledger.models import Integration, JournalEntry, JournalLine, OutboxMessage, RoleMapping
from ledger.selectors import balances_by_role, trial_balance
from psa.automation.policies import automation_policy_set
from psa.celery import app
from psa.kernel import clock
from psa.kernel.models import DeliveryStatus
from tests.crm.factories import CustomerFactory
from tests.fakes.stripe_server import FakeStripe
from tests.ledger.factories import books
from tests.projects.factories import AssignmentFactory, ProjectFactory, RateCardFactory
from tests.psa.factories import UserFactory
from tests.psa.test_celery import _database_url
from tests.timesheets.factories import ApprovalPolicyFactory
from timesheets.services import time_entry_save, week_submit

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

WHSEC = "whsec_acceptance_" + "s" * 20
INTERVAL = "1.5"  # seconds between beat ticks of every cycle job


# --- the outside world ----------------------------------------------------------------------


class StripeThatCallsBack(FakeStripe):
    """The fake Stripe, plus what Stripe does on its own: it signs and POSTs an event to the
    webhook endpoint shortly after a payment intent succeeds or fails."""

    def __init__(self, webhook_url: str) -> None:
        super().__init__()
        self.webhook_url = webhook_url
        self.delivered: list[str] = []

    def _intent_create(self, p, expand):
        status, payload = super()._intent_create(p, expand)
        if p.get("confirm") == "true":
            pi = self.objects[
                payload["id"] if status == 200 else payload["error"]["payment_intent"]["id"]
            ]
            kind = "payment_intent.succeeded" if status == 200 else "payment_intent.payment_failed"
            threading.Timer(0.3, self._call_back, args=(kind, dict(pi))).start()
        return status, payload

    def _call_back(self, kind: str, obj: dict) -> None:
        body = json.dumps(self.event(kind, obj))
        request = urllib.request.Request(  # noqa: S310 - our own local server
            self.webhook_url,
            data=body.encode(),
            headers={
                "Content-Type": "application/json",
                "Stripe-Signature": self.sign(body, WHSEC),
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            self.delivered.append(f"{kind} {response.status}")


class AccountingEndpoint:
    """The firm's accounting system: records every journal posted to it."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                endpoint.received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/journals"

    def stop(self) -> None:
        self.server.shutdown()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email_policy.default)
        )
        return "250 OK"

    def to(self, address: str) -> list:
        return [m for m in self.messages if address in m["To"]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, condition, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail(f"Timed out waiting for: {what}")


@pytest.fixture
def world(live_server, tmp_path):
    """SMTP, fake Stripe, accounting endpoint; then a worker and beat wired to all of them."""
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    stripe = StripeThatCallsBack(f"{live_server.url}/webhooks/stripe/").start()
    accounting = AccountingEndpoint()
    queue = f"acceptance-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "psa.settings.test",
        "DATABASE_URL": _database_url(),
        "TEST_CELERY_QUEUE": queue,
        "TEST_EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
        "STRIPE_SECRET_KEY": "sk_test_acceptance",
        "STRIPE_API_BASE": stripe.base_url,
        "STRIPE_WEBHOOK_SECRET": WHSEC,
        "PUBLIC_BASE_URL": live_server.url,
        "CYCLE_INTERVAL": INTERVAL,
        "PYTHONUNBUFFERED": "1",
    }
    # This process (the live server answering Stripe's webhook) sends to the same queue.
    app.conf.task_default_queue = queue
    settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE = "sk_test_acceptance", stripe.base_url
    settings.STRIPE_WEBHOOK_SECRET, settings.PUBLIC_BASE_URL = WHSEC, live_server.url
    clock.reset()
    logs = tmp_path / "logs"
    logs.mkdir()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "psa", *args],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=(logs / f"{name}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for name, args in [
            (
                "worker",
                [
                    "worker",
                    "--pool",
                    "solo",
                    "--queues",
                    queue,
                    "--loglevel",
                    "INFO",
                    "--without-mingle",
                    "--without-gossip",
                ],
            ),
            ("beat", ["beat", "--loglevel", "INFO", "-s", str(tmp_path / "beat-schedule")]),
        ]
    ]
    world = {"inbox": inbox, "stripe": stripe, "accounting": accounting}
    try:
        yield world
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        app.conf.task_default_queue = "celery"
        clock.reset()
        smtp.stop()
        stripe.stop()
        accounting.stop()
        for log in logs.iterdir():
            print(f"--- {log.name} ---\n{log.read_text()[-20000:]}")  # noqa: T201 - on failure


# --- the firm ---------------------------------------------------------------------------------


def firm_with_a_customer(accounting_url: str, *, card: str):
    entity = books(code="uk", functional_currency="GBP", name="Acme UK")
    entity.bank_details = "IBAN GB29 NWBK 6016 1331 9268 19"
    entity.save()
    TaxRate.objects.create(legal_entity=entity, name="VAT 20%", rate=D("0.20"), is_default=True)
    Integration.objects.update_or_create(
        legal_entity=entity,
        defaults={
            "mode": "journal_post",
            "endpoint_url": accounting_url,
            "signing_secret": "acceptance-signing-secret",
        },
    )
    UserFactory(email="fiona@acme.test", roles=["finance"])
    customer = CustomerFactory(
        legal_entity=entity,
        name="Northwind",
        currency="GBP",
        payment_terms_days=14,
        billing_email="ap@northwind.test",
    )
    # The customer saved a card on an earlier visit to a pay page, consenting to autopay.
    StripeCustomer.objects.create(customer=customer, stripe_customer_id="cus_test_northwind")
    PaymentMethod.objects.create(
        customer=customer,
        stripe_payment_method_id=card,
        brand="visa",
        last4="4242",
        autopay_consent_at=clock.now(),
        consent_text="Charge this card for future invoices.",
    )
    consultant = UserFactory(email="cora@acme.test", roles=["consultant"])
    project = ProjectFactory(customer=customer, code="erp", name="ERP rollout")
    AssignmentFactory(project=project, person=consultant)
    RateCardFactory(project=project, rate=D("120.00"), currency="GBP")
    ApprovalPolicyFactory(project=project, allow_weekends=True, allow_holidays=True)
    today = clock.today()
    automation_policy_set(
        legal_entity=entity,
        actor=None,
        values={
            "auto_approve": "on",
            "release_milestones": "on",
            "invoicing": "weekly",
            "invoice_day": str(today.weekday()),
            "auto_issue": "on",
            "auto_send": "on",
            "autopay": "on",
            "dunning": "on",
        },
    )
    from billing.services.dunning import dunning_levels_default

    dunning_levels_default(legal_entity=entity)
    return entity, customer, consultant, project


def consultant_submits_last_week(consultant, project) -> None:
    monday = clock.today() - dt.timedelta(days=clock.today().weekday() + 7)
    for day in range(5):
        time_entry_save(
            actor=consultant,
            person=consultant,
            project=project,
            task=None,
            date=monday + dt.timedelta(days=day),
            hours="7.5",
            note="ERP configuration",
        )
    week_submit(actor=consultant, person=consultant, week_start=monday)


def invoice_sent(world, customer) -> Invoice:
    """Approved by policy, billed by the calendar, issued and e-mailed: nobody clicked."""
    entries = project_time(customer)
    wait_for(
        "the week to be auto-approved",
        lambda: entries.exists() and not entries.exclude(status="approved").exists(),
    )
    invoice = wait_for(
        "the invoice to be issued",
        lambda: Invoice.objects.filter(customer=customer, status=InvoiceStatus.ISSUED).first(),
    )
    mail = wait_for("the invoice e-mail", lambda: world["inbox"].to("ap@northwind.test"))[0]
    assert invoice.number in mail["Subject"]
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert f"/pay/{invoice.pay_token}/" in body
    assert any(part.get_content_type() == "application/pdf" for part in mail.iter_attachments())
    return invoice


def project_time(customer):
    from timesheets.models import TimeEntry

    return TimeEntry.objects.filter(project__customer=customer)


def advance_to(day: dt.date) -> None:
    clock.advance(days=(day - clock.today()).days)


def ar_of(invoice: Invoice) -> D:
    ar = RoleMapping.objects.get(legal_entity=invoice.legal_entity, role="accounts_receivable")
    lines = JournalLine.objects.filter(account_id=ar.account_id, document=f"invoice:{invoice.pk}")
    total = lines.aggregate(d=Sum("debit"), c=Sum("credit"))
    return (total["d"] or D(0)) - (total["c"] or D(0))


# --- the tests --------------------------------------------------------------------------------


def test_work_turns_into_cash_and_balanced_books_with_no_human_action(world):
    entity, customer, consultant, project = firm_with_a_customer(
        world["accounting"].url, card="pm_card_visa"
    )
    consultant_submits_last_week(consultant, project)
    invoice = invoice_sent(world, customer)
    assert (invoice.subtotal, invoice.total) == (D("4500.00"), D("5400.00"))

    advance_to(invoice.due_date)  # two weeks pass
    paid = wait_for(
        "the saved card to be charged and the invoice paid",
        lambda: Invoice.objects.filter(pk=invoice.pk, status=InvoiceStatus.PAID).first(),
    )
    processed = StripeEvent.objects.filter(
        type="payment_intent.succeeded", processed_at__isnull=False
    )
    wait_for("Stripe's webhook to be processed", processed.exists)
    assert world["stripe"].delivered == ["payment_intent.succeeded 200"]
    assert paid.amount_paid == D("5400.00")
    (payment,) = Payment.objects.filter(invoice=invoice)  # redirect, sweep and webhook: once
    assert payment.fee == D("156.90")  # from Stripe's balance transaction: 2.9 % + 0.30
    assert PaymentAttempt.objects.get(invoice=invoice).status == AttemptStatus.SUCCEEDED

    rows = trial_balance(legal_entity=entity, as_of=clock.today())
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows)
    assert ar_of(invoice) == 0
    books_now = balances_by_role(legal_entity=entity, as_of=clock.today())
    assert books_now["stripe_clearing"] == D("5243.10")
    assert books_now["payment_fees"] == D("156.90")
    assert books_now["tax_payable"] == D("-900.00")
    assert books_now["unbilled_revenue"] == 0  # WIP accrued at approval, relieved by the invoice

    # Every journal reached the accounting system, the payment's included.
    entries = JournalEntry.objects.filter(legal_entity=entity).count()
    undelivered = OutboxMessage.objects.filter(legal_entity=entity).exclude(
        status=DeliveryStatus.DELIVERED
    )
    wait_for("the journals to reach the accounting endpoint", lambda: not undelivered.exists())
    posted = [m for m in world["accounting"].received if m.get("lines")]
    assert len(posted) == entries
    assert any(m.get("event") == "payment.received" for m in posted)


def test_a_declined_card_ends_in_dunning_and_a_notice_to_finance(world):
    entity, customer, consultant, project = firm_with_a_customer(
        world["accounting"].url, card="pm_card_chargeDeclined"
    )
    consultant_submits_last_week(consultant, project)
    invoice = invoice_sent(world, customer)
    due = invoice.due_date
    # Charged on the due date and retried 1, 3 and 7 days after each decline, then given up.
    failed = PaymentAttempt.objects.filter(invoice=invoice, status=AttemptStatus.FAILED)
    for n, days in enumerate([0, 1, 4, 11], start=1):
        advance_to(due + dt.timedelta(days=days))
        wait_for(f"charge attempt {n}", lambda n=n: failed.count() == n)
    notice = wait_for("the notice to finance", lambda: world["inbox"].to("fiona@acme.test"))
    assert invoice.number in notice[0].get_body(preferencelist=("plain",)).get_content()
    # Reminders: on the due date, then at +7 (the clock jumped past -3; +14 is not reached).
    sent = DunningReminder.objects.filter(invoice=invoice).order_by("level__days_from_due")
    wait_for("the reminders due by now", lambda: sent.count() >= 2)
    assert [r.level.days_from_due for r in sent] == [0, 7]
    wait_for("the reminder e-mails", lambda: len(world["inbox"].to("ap@northwind.test")) >= 3)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED and invoice.amount_paid == 0
    assert Payment.objects.filter(invoice=invoice).count() == 0
    rows = trial_balance(legal_entity=entity, as_of=clock.today())
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows)
    assert ar_of(invoice) == D("5400.00")
    assert PaymentAttempt.objects.filter(invoice=invoice).count() == 4  # bounded: no 5th
    assert re.search(
        r"gave up|stopped", notice[0]["Subject"] + notice[0].get_body().get_content(), re.I
    )

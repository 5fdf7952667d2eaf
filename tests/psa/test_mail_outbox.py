"""E-mail exactly once, never lost: the mail outbox against a real SMTP server (aiosmtpd on
loopback) that refuses, hangs up mid-DATA, or is slow while a second worker or a crash happens.

These tests commit for real (``transaction=True``): two senders hold their own database
connections, and a dead worker's lock must go with its session."""

import asyncio
import datetime as dt
import email
import socket
import threading

import pytest
from aiosmtpd.controller import Controller
from django.db import connection, connections
from django.db.models import QuerySet
from django.utils import timezone

from billing.models import Invoice
from billing.services import billing_run_execute, invoice_send
from psa.automation.tasks import send_due_mail
from psa.celery import app
from psa.kernel.mail import mail_due, mail_problems, mail_send
from psa.kernel.models import AuditEvent, DeliveryStatus, MailMessage
from tests.billing.test_billing import PERIOD_END, TODAY, firm  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db(transaction=True)


class Server:
    """An SMTP server whose answer to DATA the test scripts: "accept", "refuse" (451),
    "hangup" (the connection drops mid-DATA, nothing accepted), or "hold" (wait until
    ``release`` is set, then do what ``after_hold`` says)."""

    def __init__(self):
        self.accepted = []
        self.script = []
        self.in_data = threading.Event()
        self.release = threading.Event()
        self.after_hold = "accept"

    async def handle_DATA(self, server, session, envelope):
        step = self.script.pop(0) if self.script else "accept"
        if step == "hold":
            self.in_data.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
            step = self.after_hold
        if step == "refuse":
            return "451 4.3.0 Try again later"
        if step == "hangup":
            server.transport.close()
            return "421 4.3.0 Going away"
        self.accepted.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp(settings, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = Server()
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 10
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.MEDIA_ROOT = tmp_path
    yield server
    server.release.set()
    controller.stop()


@pytest.fixture
def broker_down(monkeypatch):
    """Redis is unreachable: the Celery app publishes to a port where nothing listens."""
    # The write URL first: it falls back to broker_url, so patched after it, it would be
    # restored to the dead port.
    monkeypatch.setattr(app.conf, "broker_write_url", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)


@pytest.fixture
def issued(firm, broker_down):  # noqa: F811 - the fixture's name
    """An issued invoice; the broker is down so only the test (the sweep) sends mail."""
    billing_run_execute(
        legal_entity=firm, period_end=PERIOD_END, actor_label="t", issue=True, today=TODAY
    )
    return Invoice.objects.get(customer__name="Northwind")


def _due_now(message):
    """Let the backoff pass."""
    MailMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())


def _sent(invoice):
    return Invoice.objects.get(pk=invoice.pk).sent_at


def test_redis_down_when_finance_clicks_send_redirects_and_the_sweep_sends_it(
    client, finance, issued, smtp
):
    client.force_login(finance)
    response = client.post(f"/billing/invoices/{issued.pk}/send/")
    assert response.status_code == 302  # not a 500: the click is recorded in PostgreSQL
    message = MailMessage.objects.get(idempotency_key=f"invoice:{issued.pk}:send")
    assert message.status == DeliveryStatus.PENDING and smtp.accepted == []
    assert send_due_mail() == 1  # the beat sweep: no Redis involved
    (envelope,) = smtp.accepted
    assert envelope.rcpt_tos == [issued.customer.billing_email]
    parts = list(email.message_from_bytes(envelope.content).walk())
    pdf = next(p for p in parts if p.get_content_type() == "application/pdf")
    assert pdf.get_payload(decode=True).startswith(b"%PDF")  # rendered at send time
    assert _sent(issued) is not None
    assert send_due_mail() == 0 and len(smtp.accepted) == 1


def test_a_server_that_hangs_up_mid_data_gets_the_message_again_and_it_arrives_once(
    finance, issued, smtp
):
    smtp.script = ["hangup"]
    invoice_send(invoice=issued, actor=finance)
    message = MailMessage.objects.get()
    assert mail_send(message_id=message.pk) == DeliveryStatus.PENDING
    message.refresh_from_db()
    assert message.attempts == 1 and "SMTPServerDisconnected" in message.last_error
    assert message.next_attempt_at > timezone.now()  # backoff before the next try
    assert mail_due() == [] and _sent(issued) is None and smtp.accepted == []
    _due_now(message)
    assert mail_send(message_id=message.pk) == DeliveryStatus.DELIVERED
    _due_now(message)
    assert mail_send(message_id=message.pk) == "skipped"  # delivered: never again
    assert len(smtp.accepted) == 1 and _sent(issued) is not None
    assert AuditEvent.objects.filter(action="invoice.sent", object_id=str(issued.pk)).count() == 1


def test_a_refusing_server_is_retried_and_given_up_visibly_then_retried_by_a_person(
    client, settings, finance, issued, smtp
):
    settings.MAIL_MAX_ATTEMPTS = 2
    smtp.script = ["refuse", "refuse"]
    invoice_send(invoice=issued, actor=finance)
    message = MailMessage.objects.get()
    assert mail_send(message_id=message.pk) == DeliveryStatus.PENDING
    _due_now(message)
    assert mail_send(message_id=message.pk) == DeliveryStatus.DEAD
    assert [m.pk for m in mail_problems()] == [message.pk]
    client.force_login(finance)
    page = client.get("/operations/").content.decode()
    assert "E-mail that failed or is stuck" in page and "Failed: gave up" in page
    assert f"Invoice {issued.number} to Northwind" in page and "451" in page
    response = client.post(f"/operations/mail/{message.pk}/retry/")
    assert response.status_code == 302
    assert send_due_mail() == 1
    assert len(smtp.accepted) == 1 and _sent(issued) is not None
    assert mail_problems() == []


def _sender(message_id, out):
    """A worker in a thread of its own, with its own database connection."""
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            out["pid"] = cur.fetchone()[0]
        out["status"] = mail_send(message_id=message_id)
    except Exception as exc:  # a killed worker's error is what the test looks at
        out["error"] = exc
    finally:
        connections.close_all()


@pytest.mark.parametrize("guard", [True, False], ids=["row-lock", "control-without-lock"])
def test_two_workers_at_once_send_the_message_once(finance, issued, smtp, monkeypatch, guard):
    smtp.script = ["hold"]
    invoice_send(invoice=issued, actor=finance)
    message = MailMessage.objects.get()
    if not guard:  # the control: claim without the row lock, and the race sends twice
        monkeypatch.setattr(QuerySet, "select_for_update", lambda self, **kw: self)
    first = {}
    worker = threading.Thread(target=_sender, args=(message.pk, first))
    worker.start()
    assert smtp.in_data.wait(10)  # the first worker is mid-SMTP, holding the row
    second = mail_send(message_id=message.pk)
    smtp.release.set()
    worker.join(10)
    assert first["status"] == DeliveryStatus.DELIVERED
    if guard:
        assert second == "skipped"  # SKIP LOCKED: the second worker leaves it alone
        assert send_due_mail() == 0  # and so does the sweep
        assert len(smtp.accepted) == 1 and _sent(issued) is not None
    else:
        assert second == DeliveryStatus.DELIVERED and len(smtp.accepted) == 2


def test_a_worker_killed_mid_smtp_leaves_the_message_due_at_once_and_it_arrives_once(
    finance, issued, smtp
):
    smtp.script, smtp.after_hold = ["hold"], "hangup"
    invoice_send(invoice=issued, actor=finance)
    message = MailMessage.objects.get()
    killed = {}
    worker = threading.Thread(target=_sender, args=(message.pk, killed))
    worker.start()
    assert smtp.in_data.wait(10)
    with connection.cursor() as cur:  # the worker process dies: its session ends
        cur.execute("SELECT pg_terminate_backend(%s)", [killed["pid"]])
    smtp.release.set()  # ... and its SMTP connection with it, before the server accepted
    worker.join(10)
    assert "error" in killed and smtp.accepted == []
    # No claim to expire, nothing unacked in Redis: the row is due again at once.
    assert mail_due() == [message.pk]
    assert send_due_mail() == 1
    assert len(smtp.accepted) == 1 and _sent(issued) is not None
    message.refresh_from_db()
    assert message.status == DeliveryStatus.DELIVERED


def test_asking_twice_queues_one_message_and_a_resend_after_delivery_is_its_own(
    finance, issued, smtp
):
    invoice_send(invoice=issued, actor=finance)
    invoice_send(invoice=issued, actor=finance)  # a double click
    assert MailMessage.objects.count() == 1
    send_due_mail()
    invoice_send(invoice=issued, actor=finance)  # a deliberate resend
    keys = set(MailMessage.objects.values_list("idempotency_key", flat=True))
    assert keys == {f"invoice:{issued.pk}:send", f"invoice:{issued.pk}:resend:1"}
    send_due_mail()
    assert len(smtp.accepted) == 2


def test_a_message_stuck_past_its_due_time_is_shown_on_operations(finance, issued, smtp):
    invoice_send(invoice=issued, actor=finance)
    message = MailMessage.objects.get()
    MailMessage.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert [m.pk for m in mail_problems()] == [message.pk]


def test_the_residual_window_a_crash_between_smtp_accept_and_commit_sends_again(
    finance, issued, smtp
):
    """Documented in psa.kernel.mail: SMTP has no idempotency key, so a worker that dies after
    the server accepted and before its commit leaves the row due: at least once, never zero."""
    smtp.script, smtp.after_hold = ["hold"], "accept"
    invoice_send(invoice=issued, actor=finance)
    message = MailMessage.objects.get()
    crashed = {}
    worker = threading.Thread(target=_sender, args=(message.pk, crashed))
    worker.start()
    assert smtp.in_data.wait(10)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_terminate_backend(%s)", [crashed["pid"]])
    smtp.release.set()  # the server accepts; the worker's commit cannot happen
    worker.join(10)
    assert "error" in crashed and len(smtp.accepted) == 1 and _sent(issued) is None
    assert send_due_mail() == 1
    assert len(smtp.accepted) == 2 and _sent(issued) is not None

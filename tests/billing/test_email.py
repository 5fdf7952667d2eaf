"""The invoice reaches the customer through a real SMTP conversation (aiosmtpd on loopback)."""

import email
import socket

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from billing.models import Invoice
from billing.services import billing_run_execute, invoice_send
from psa.kernel import errors
from psa.kernel.mail import mail_due, mail_send
from psa.kernel.models import AuditEvent, MailMessage
from tests.billing.test_billing import PERIOD_END, TODAY, firm  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp(settings, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.MEDIA_ROOT = tmp_path
    yield inbox
    controller.stop()


@pytest.fixture
def issued(firm):  # noqa: F811
    firm.bank_details = "IBAN GB29 NWBK 6016 1331 9268 19"
    firm.save()
    billing_run_execute(
        legal_entity=firm, period_end=PERIOD_END, actor_label="t", issue=True, today=TODAY
    )
    return Invoice.objects.get(customer__name="Northwind")


def test_the_invoice_is_mailed_with_its_pdf_and_how_to_pay(
    smtp, issued, finance, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        invoice_send(invoice=issued, actor=finance)
    assert len(callbacks) == 1  # the task is sent after commit, not before
    (message,) = MailMessage.objects.filter(idempotency_key=f"invoice:{issued.pk}:send")
    assert mail_send(message_id=message.pk) == "delivered"  # what the worker does
    (envelope,) = smtp.messages
    assert envelope.rcpt_tos == [issued.customer.billing_email]
    message = email.message_from_bytes(envelope.content)
    assert message["Subject"] == f"Invoice {issued.number} from Acme UK"
    parts = list(message.walk())
    text = (
        next(p for p in parts if p.get_content_type() == "text/plain")
        .get_payload(decode=True)
        .decode()
    )
    assert "5,400.00 GBP" in text and "GB29 NWBK" in text and issued.number in text
    pdf = next(p for p in parts if p.get_content_type() == "application/pdf")
    assert pdf.get_filename() == f"{issued.number}.pdf"
    assert pdf.get_payload(decode=True).startswith(b"%PDF")
    issued.refresh_from_db()
    assert issued.sent_at is not None
    assert AuditEvent.objects.filter(action="invoice.sent", object_id=str(issued.pk)).exists()


def test_an_smtp_outage_is_retried_then_given_up_for_finance_to_see(
    settings, issued, finance, tmp_path
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    settings.MEDIA_ROOT, settings.MAIL_MAX_ATTEMPTS = tmp_path, 3
    invoice_send(invoice=issued, actor=finance)
    message = MailMessage.objects.get()
    statuses = []
    for _ in range(3):
        MailMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        statuses.append(mail_send(message_id=message.pk))
    assert statuses == ["pending", "pending", "dead"]
    message.refresh_from_db()
    assert message.attempts == 3 and "Connection refused" in message.last_error
    assert mail_due() == []  # given up: no longer retried on its own
    issued.refresh_from_db()
    assert issued.sent_at is None


def test_a_draft_or_an_address_less_customer_cannot_be_mailed(firm, finance):  # noqa: F811
    billing_run_execute(legal_entity=firm, period_end=PERIOD_END, actor_label="t")
    draft = Invoice.objects.get(customer__name="Northwind")
    with pytest.raises(errors.Conflict):
        invoice_send(invoice=draft, actor=finance)
    halcyon = Invoice.objects.get(customer__name="Halcyon")
    halcyon.customer.billing_email = ""
    halcyon.customer.save()
    Invoice.objects.filter(pk=halcyon.pk).update(status="issued", number="X-1", issue_date=TODAY)
    halcyon.refresh_from_db()
    with pytest.raises(errors.ValidationFailed) as caught:
        invoice_send(invoice=halcyon, actor=finance)
    assert "billing_email" in caught.value.fields


def test_finance_sends_from_the_invoice_page(
    client, finance, issued, smtp, django_capture_on_commit_callbacks
):
    client.force_login(finance)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(f"/billing/invoices/{issued.pk}/send/")
    assert response.status_code == 302
    assert len(callbacks) == 1

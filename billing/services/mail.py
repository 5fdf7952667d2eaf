"""The invoice e-mail: PDF attached, pay link and bank details in the text."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import timezone

from billing.models import Invoice
from billing.selectors import invoice_document
from billing.services import invoice_recipient
from billing.services.pdf import invoice_pdf_store
from psa.kernel.audit import audit_record
from psa.kernel.headers import header_safe


def invoice_email_send(invoice: Invoice) -> None:
    """Send now (called by the task, outside any transaction; SMTP errors propagate so the
    task retries them)."""
    if not invoice.pdf or not invoice.pdf.storage.exists(invoice.pdf.name):
        invoice_pdf_store(invoice)
    context = invoice_document(invoice)
    subject = f"{invoice.get_kind_display()} {invoice.number} from {invoice.legal_entity.name}"
    message = EmailMessage(
        subject=header_safe(subject),
        body=render_to_string("billing/email/invoice.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invoice_recipient(invoice)],
    )
    with invoice.pdf.open("rb") as pdf:
        message.attach(f"{invoice.number}.pdf", pdf.read(), "application/pdf")
    message.send()
    Invoice.objects.filter(pk=invoice.pk).update(sent_at=timezone.now())
    audit_record(
        action="invoice.sent", obj=invoice, actor_label="job:send-invoice",
        after={"to": message.to[0]},
    )  # fmt: skip

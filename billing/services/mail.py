"""Billing's e-mails, sent through the kernel's durable mail outbox (psa.kernel.mail).

A service writes the message in its own transaction (``invoice_mail_enqueue``,
``dunning_mail_enqueue``, ``autopay_mail_enqueue``); the renderers below build the e-mail when
a worker sends it — the PDF is rendered then, from the invoice as it is — and stamp the
document (``Invoice.sent_at``, ``DunningReminder.sent_at``) in the transaction that marks the
message sent. ``BillingConfig.ready`` registers them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.template.loader import render_to_string

from billing.models import Invoice, InvoiceKind, InvoiceStatus
from billing.selectors import invoice_document
from billing.services.payment_mail import autopay_notice_email, dunning_reminder_email
from billing.services.pdf import render_invoice_pdf
from billing.services.sending import (
    AUTOPAY_TOPIC,
    DUNNING_TOPIC,
    INVOICE_TOPIC,
    invoice_recipient,
)
from psa.kernel.audit import audit_record
from psa.kernel.headers import header_safe
from psa.kernel.mail import MailUndeliverable, Rendered, mail_renderer_register


def paid_in_full(invoice: Invoice) -> bool:
    """An invoice with a total that was paid before it was e-mailed (a prepaid fund or credit
    covered it at issue): its e-mail is a paid invoice, a receipt, never a request to pay."""
    return (
        invoice.kind == InvoiceKind.INVOICE
        and invoice.total > 0
        and invoice.status == InvoiceStatus.PAID
    )


def invoice_email(payload: dict[str, Any]) -> Rendered:
    """The invoice (credit note, receipt) e-mail with its PDF, rendered now."""
    invoice = Invoice.objects.select_related("legal_entity", "customer", "credits").get(
        pk=payload["invoice_id"]
    )
    recipient = invoice_recipient(invoice)
    if not recipient:
        raise MailUndeliverable(f"{invoice.customer} has no billing e-mail address.")
    context = {**invoice_document(invoice), "paid_in_full": paid_in_full(invoice)}
    subject = f"{invoice.get_kind_display()} {invoice.number} from {invoice.legal_entity.name}"
    if context["paid_in_full"] or invoice.nothing_to_pay:
        subject += " (paid)"
    message = EmailMessage(
        subject=header_safe(subject),
        body=render_to_string("billing/email/invoice.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
    )
    message.attach(f"{invoice.number}.pdf", render_invoice_pdf(invoice), "application/pdf")

    def on_sent(when: dt.datetime) -> None:
        Invoice.objects.filter(pk=invoice.pk).update(sent_at=when)
        audit_record(
            action="invoice.sent", obj=invoice, actor_label="job:send-mail",
            after={"to": recipient},
        )  # fmt: skip

    return Rendered(email=message, on_sent=on_sent)


def register() -> None:
    mail_renderer_register(INVOICE_TOPIC, invoice_email)
    mail_renderer_register(DUNNING_TOPIC, dunning_reminder_email)
    mail_renderer_register(AUTOPAY_TOPIC, autopay_notice_email)

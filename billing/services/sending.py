"""Sending an issued invoice, a credit note, a reminder or an autopay notice by e-mail: each
is a row of the durable mail outbox (psa.kernel.mail), written in the caller's transaction;
billing.services.mail renders it when a worker sends it."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from billing.models import (
    Invoice,
    InvoiceStatus,
)
from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.mail import mail_enqueue
from psa.kernel.models import DeliveryStatus, MailMessage

INVOICE_TOPIC = "billing.invoice"
DUNNING_TOPIC = "billing.dunning"
AUTOPAY_TOPIC = "billing.autopay"


def invoice_send(*, invoice: Invoice, actor: Any = None, actor_label: str = "") -> Invoice:
    """E-mail an issued invoice (or credit note) with its PDF to the customer, after commit.
    Sending again is a resend."""

    if invoice.status == InvoiceStatus.DRAFT:
        raise errors.Conflict("Issue the invoice before sending it.", code="illegal_transition")
    if not invoice_recipient(invoice):
        raise errors.ValidationFailed(
            f"{invoice.customer} has no billing e-mail address.",
            fields={"billing_email": "Add one on the customer first."},
        )
    # No lock on the invoice: a sender mid-SMTP holds the message's row and then stamps the
    # invoice, so locking the invoice here first could deadlock with it. Two clicks at once
    # meet on the message's unique key instead.
    with transaction.atomic():
        audit_record(
            action="invoice.send_requested", obj=invoice, actor=actor, actor_label=actor_label
        )
        invoice_mail_enqueue(invoice=invoice)
    return invoice


def invoice_mail_key(invoice: Invoice) -> str:
    return f"invoice:{invoice.pk}:send"


def invoice_mail_enqueue(*, invoice: Invoice) -> MailMessage:
    """Queue the invoice's e-mail in the caller's transaction. The first is
    ``invoice:<pk>:send``; once that went out, each further request is a resend of its own
    (``invoice:<pk>:resend:<n>``); while one is waiting, asking again makes it due now
    instead of queueing a second e-mail."""
    key = invoice_mail_key(invoice)
    sent = MailMessage.objects.filter(
        idempotency_key__startswith=f"invoice:{invoice.pk}:", status=DeliveryStatus.DELIVERED
    ).count()
    waiting = (
        MailMessage.objects.filter(idempotency_key__startswith=f"invoice:{invoice.pk}:")
        .exclude(status=DeliveryStatus.DELIVERED)
        .values_list("idempotency_key", flat=True)
        .first()
    )
    if waiting:
        key = waiting
    elif sent:
        key = f"invoice:{invoice.pk}:resend:{sent}"
    label = f"{invoice.get_kind_display()} {invoice.number} to {invoice.customer}"
    return mail_enqueue(
        key=key, topic=INVOICE_TOPIC, payload={"invoice_id": invoice.pk}, label=label
    )


def invoice_recipient(invoice: Invoice) -> str:
    """The customer's billing address, else its billing contact's."""
    customer = invoice.customer
    if customer.billing_email:
        return customer.billing_email
    contact = customer.contacts.filter(is_billing_contact=True).exclude(email="").first()
    return contact.email if contact else ""


def dunning_mail_enqueue(*, reminder: Any) -> MailMessage:
    """Queue a dunning reminder's e-mail, once per invoice and level."""
    invoice = reminder.invoice
    return mail_enqueue(
        key=f"dunning:{invoice.pk}:level{reminder.level_id}",
        topic=DUNNING_TOPIC,
        payload={"reminder_id": reminder.pk},
        label=f"Reminder “{reminder.level.name}” for invoice {invoice.number}",
    )


def autopay_mail_enqueue(*, attempt: Any, kind: str) -> MailMessage:
    """Queue an autopay notice (the customer must confirm, or finance: autopay gave up)."""
    return mail_enqueue(
        key=f"autopay:{attempt.pk}:{kind}",
        topic=AUTOPAY_TOPIC,
        payload={"attempt_id": attempt.pk, "kind": kind},
        label=f"Autopay notice ({kind.replace('_', ' ')}) for invoice {attempt.invoice.number}",
    )

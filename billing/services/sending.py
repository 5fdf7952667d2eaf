"""Sending an issued invoice by e-mail (after commit, by a thin task)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from billing.models import (
    Invoice,
    InvoiceStatus,
)
from billing.tasks import send_invoice_email
from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.queue import enqueue_on_commit


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
    with transaction.atomic():
        audit_record(
            action="invoice.send_requested", obj=invoice, actor=actor, actor_label=actor_label
        )
        enqueue_on_commit(send_invoice_email, invoice.pk)
    return invoice


def invoice_recipient(invoice: Invoice) -> str:
    """The customer's billing address, else its billing contact's."""
    customer = invoice.customer
    if customer.billing_email:
        return customer.billing_email
    contact = customer.contacts.filter(is_billing_contact=True).exclude(email="").first()
    return contact.email if contact else ""

"""E-mails of the payment layer: autopay needs the customer, autopay gave up (to finance),
dunning reminders. Renderers of the mail outbox (psa.kernel.mail): built when a worker sends
the message; the outbox retries SMTP errors."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.template import Context, Template
from django.template.loader import render_to_string
from django.urls import reverse

from billing.models import AttemptKind, AttemptStatus, DunningReminder, PaymentAttempt
from billing.selectors.invoices import _pay_url
from billing.services.sending import invoice_recipient
from psa.kernel.headers import header_safe
from psa.kernel.mail import MailUndeliverable, Rendered
from psa.kernel.models import User
from psa.kernel.money import money_text
from psa.kernel.roles import Role


def autopay_notice_email(payload: dict[str, Any]) -> Rendered:
    attempt_id, kind = payload["attempt_id"], payload["kind"]
    attempt = PaymentAttempt.objects.select_related(
        "invoice__customer", "invoice__legal_entity"
    ).get(pk=attempt_id)
    invoice = attempt.invoice
    context = {
        "invoice": invoice,
        "entity": invoice.legal_entity,
        "attempt": attempt,
        "amount_due": invoice.amount_due,
        "pay_url": _pay_url(invoice),
        "invoice_url": settings.PUBLIC_BASE_URL
        + reverse("billing:invoice_detail", kwargs={"pk": invoice.pk}),
        "failures": PaymentAttempt.objects.filter(
            invoice=invoice, kind=AttemptKind.OFF_SESSION, status=AttemptStatus.FAILED
        ).count(),
    }
    if kind == "authentication_required":
        to = [invoice_recipient(invoice)]
        subject = f"Please confirm the payment of invoice {invoice.number}"
        template = "billing/email/autopay_authentication.txt"
    else:
        to = list(
            User.objects.filter(is_active=True, groups__name=Role.FINANCE)
            .exclude(email="")
            .values_list("email", flat=True)
            .distinct()
        )
        subject = f"Autopay gave up on {invoice.number} ({invoice.customer.name})"
        template = "billing/email/autopay_gave_up.txt"
    to = [address for address in to if address]
    if not to:
        raise MailUndeliverable("Nobody to tell: no address for this notice.")
    message = EmailMessage(
        subject=header_safe(subject), body=render_to_string(template, context),
        from_email=settings.DEFAULT_FROM_EMAIL, to=to,
    )  # fmt: skip
    return Rendered(email=message, on_sent=lambda when: None)


def dunning_reminder_email(payload: dict[str, Any]) -> Rendered:
    """The level's editable template, rendered for the invoice as it is now."""
    reminder = DunningReminder.objects.select_related(
        "level", "invoice__customer", "invoice__legal_entity", "late_fee_invoice"
    ).get(pk=payload["reminder_id"])
    invoice, level = reminder.invoice, reminder.level
    context = Context(
        {
            "invoice": invoice,
            "customer": invoice.customer,
            "entity": invoice.legal_entity,
            "amount_due": (
                f"{money_text(invoice.amount_due, invoice.currency, grouped=True)} "
                f"{invoice.currency}"
            ),
            "due_date": invoice.due_date,
            "pay_url": _pay_url(invoice) or "",
            "late_fee_invoice": reminder.late_fee_invoice,
        },
        autoescape=False,
    )
    subject = Template(level.subject).render(context).strip()
    body = Template(level.body).render(context)
    recipient = invoice_recipient(invoice)
    if not recipient:
        raise MailUndeliverable(f"{invoice.customer} has no billing e-mail address.")
    message = EmailMessage(
        subject=header_safe(subject), body=body, from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
    )  # fmt: skip
    return Rendered(
        email=message,
        on_sent=lambda when: DunningReminder.objects.filter(pk=reminder.pk).update(sent_at=when),
    )

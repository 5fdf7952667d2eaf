"""E-mails of the payment layer: autopay needs the customer, autopay gave up (to finance),
dunning reminders. Sent by tasks, outside transactions; SMTP errors propagate for retry."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.template import Context, Template
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from billing.models import AttemptKind, AttemptStatus, DunningReminder, PaymentAttempt
from billing.selectors.invoices import _pay_url
from billing.services import invoice_recipient
from psa.kernel.models import User
from psa.kernel.money import money_text
from psa.kernel.roles import Role


def autopay_notice_send(*, attempt_id: int, kind: str) -> None:
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
        return
    EmailMessage(
        subject=subject, body=render_to_string(template, context),
        from_email=settings.DEFAULT_FROM_EMAIL, to=to,
    ).send()  # fmt: skip


def dunning_reminder_send(*, reminder_id: int) -> None:
    """Render the level's editable template for the invoice and send it."""
    reminder = DunningReminder.objects.select_related(
        "level", "invoice__customer", "invoice__legal_entity", "late_fee_invoice"
    ).get(pk=reminder_id)
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
    if recipient:
        EmailMessage(
            subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[recipient]
        ).send()

    DunningReminder.objects.filter(pk=reminder.pk).update(sent_at=timezone.now())

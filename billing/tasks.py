"""Thin tasks of billing."""

from __future__ import annotations

from celery import shared_task

from billing.models import Invoice


@shared_task(name="billing.tasks.render_invoice_pdf", ignore_result=True, max_retries=3)
def render_invoice_pdf(invoice_id: int) -> str:
    from billing.pdf import invoice_pdf_store

    invoice = Invoice.objects.select_related("legal_entity", "customer").get(pk=invoice_id)
    return invoice_pdf_store(invoice).pdf.name


@shared_task(bind=True, name="billing.tasks.send_invoice_email", ignore_result=True, max_retries=8)
def send_invoice_email(self, invoice_id: int) -> None:
    """Send the invoice e-mail; an SMTP failure (smtplib's errors are OSErrors) is retried
    with backoff, and after the last try it is recorded on the invoice for finance to see."""
    from billing.mail import invoice_email_send
    from psa.audit import audit_record

    invoice = Invoice.objects.select_related("legal_entity", "customer").get(pk=invoice_id)
    try:
        invoice_email_send(invoice)
    except OSError as exc:
        if self.request.retries >= self.max_retries:
            audit_record(
                action="invoice.send_failed", obj=invoice, actor_label="job:send-invoice",
                reason=f"{type(exc).__name__}: {exc}",
            )  # fmt: skip
            raise
        raise self.retry(exc=exc, countdown=min(60 * 2**self.request.retries, 3600)) from exc

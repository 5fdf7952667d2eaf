"""Thin tasks of billing."""

from __future__ import annotations

from celery import shared_task

from billing.models import Invoice


@shared_task(name="billing.tasks.render_invoice_pdf", ignore_result=True, max_retries=3)
def render_invoice_pdf(invoice_id: int) -> str:
    from billing.pdf import invoice_pdf_store

    invoice = Invoice.objects.select_related("legal_entity", "customer").get(pk=invoice_id)
    return invoice_pdf_store(invoice).pdf.name

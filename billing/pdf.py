"""The invoice PDF, rendered with WeasyPrint from an HTML template."""

from __future__ import annotations

from django.conf import settings
from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from django.utils import timezone

from billing.models import Invoice
from billing.selectors import invoice_document


def render_invoice_pdf(invoice: Invoice) -> bytes:
    from weasyprint import HTML

    html = render_to_string("billing/invoice_pdf.html", invoice_document(invoice))
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()


def invoice_pdf_store(invoice: Invoice) -> Invoice:
    """Render and store the PDF (called by the task, outside any transaction)."""
    data = render_invoice_pdf(invoice)
    name = f"{invoice.number or f'draft-{invoice.pk}'}.pdf"
    invoice.pdf.save(name, ContentFile(data), save=False)
    Invoice.objects.filter(pk=invoice.pk).update(pdf=invoice.pdf.name, updated_at=timezone.now())
    return invoice

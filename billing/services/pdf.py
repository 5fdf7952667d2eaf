"""The invoice PDF, rendered with WeasyPrint from an HTML template."""

from __future__ import annotations

import base64
import io
import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from django.utils import timezone

from billing.models import ExpenseBilling, Invoice
from billing.selectors import invoice_document

logger = logging.getLogger(__name__)


def render_invoice_pdf(invoice: Invoice) -> bytes:
    """The invoice, then the receipts of the billable expenses it bills: image receipts as
    pages of the document, PDF receipts appended page by page."""
    from weasyprint import HTML

    images, pdfs = _receipts(invoice)
    context = {
        **invoice_document(invoice),
        "logo": _logo(invoice.legal_entity),
        "receipt_images": images,
        "fund_applied": invoice.fund_applied.exists(),
        "paid_before_write_off": invoice.amount_paid - invoice.written_off_amount,
    }
    html = render_to_string("billing/invoice_pdf.html", context)
    document = HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
    if not pdfs:
        return document
    from pypdf import PdfReader, PdfWriter
    from pypdf.errors import PyPdfError

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(document)))
    for data in pdfs:
        try:
            writer.append(PdfReader(io.BytesIO(data)))
        except (PyPdfError, ValueError, LookupError, OSError):  # a damaged receipt: logged
            logger.warning("receipt PDF of invoice %s could not be appended", invoice.pk)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _logo(entity: object) -> str:
    """The entity's logo as a data URI (storage-agnostic), or "" if it has none."""
    logo = getattr(entity, "logo", None)
    if not logo:
        return ""
    with logo.open("rb") as fh:
        data = fh.read()
    mime = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _receipts(invoice: Invoice) -> tuple[list[dict], list[bytes]]:
    """Receipts of the expenses billed on this invoice (for a credit note: on the invoice it
    credits), in line order."""

    source = invoice.credits_id or invoice.pk
    links = (
        ExpenseBilling.objects.filter(line__invoice_id=source)
        .exclude(expense__receipt="")
        .select_related("expense")
        .order_by("line__position")
    )
    images, pdfs = [], []
    for link in links:
        expense = link.expense
        with expense.receipt.open("rb") as fh:
            data = fh.read()
        if data.startswith(b"%PDF-"):
            pdfs.append(data)
            continue
        mime = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
        src = f"data:{mime};base64,{base64.b64encode(data).decode()}"
        images.append({"expense": expense, "src": src})
    return images, pdfs


def invoice_pdf_store(invoice: Invoice) -> Invoice:
    """Render and store the PDF (called by the task, outside any transaction)."""
    data = render_invoice_pdf(invoice)
    name = f"{invoice.number or f'draft-{invoice.pk}'}.pdf"
    invoice.pdf.save(name, ContentFile(data), save=False)
    Invoice.objects.filter(pk=invoice.pk).update(pdf=invoice.pdf.name, updated_at=timezone.now())
    return invoice

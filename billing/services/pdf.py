"""The invoice PDF, rendered with WeasyPrint from an HTML template.

What goes in is treated as untrusted: WeasyPrint fetches nothing but our own static and media
files and data: URIs (``OwnFilesFetcher``); logos and image receipts are PNG/JPEG checked by
content and bounded; PDF receipts are rebuilt without scripts, actions, forms or attachments
(psa.kernel.documents) before they are appended."""

from __future__ import annotations

import base64
import io
import logging
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.template.loader import render_to_string
from django.utils import timezone

from billing.models import ExpenseBilling, Invoice
from billing.selectors import invoice_document
from psa.kernel.documents import DocumentRefused, image_check, pdf_sanitise

logger = logging.getLogger(__name__)


def _own_roots() -> list[Path]:
    # A STATICFILES_DIRS entry may be a (prefix, path) pair.
    dirs = [d[1] if isinstance(d, tuple | list) else d for d in settings.STATICFILES_DIRS]
    roots = [*dirs, settings.STATIC_ROOT, settings.MEDIA_ROOT]
    return [Path(root).resolve() for root in roots if root]


def _url_fetcher() -> object:
    """A WeasyPrint fetcher that serves data: URIs and files under our static and media
    roots, and refuses everything else (http, ftp, other local files)."""
    from weasyprint.urls import URLFetcher

    class OwnFilesFetcher(URLFetcher):
        def fetch(self, url: str, headers: dict | None = None) -> object:
            parts = urlsplit(url)
            if parts.scheme == "data":
                return super().fetch(url, headers)
            if parts.scheme == "file":
                path = Path(unquote(parts.path)).resolve()
                if path.is_file() and any(path.is_relative_to(r) for r in _own_roots()):
                    return super().fetch(url, headers)
            logger.warning("PDF rendering refused to fetch %s", url[:200])
            raise ValueError("Only our own static and media files are fetched.")

    return OwnFilesFetcher(allowed_protocols={"data", "file"}, allow_redirects=False)


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
    document = HTML(
        string=html, base_url=str(settings.BASE_DIR), url_fetcher=_url_fetcher()
    ).write_pdf()
    if not pdfs:
        return document
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(document)))
    for data in pdfs:
        try:
            # Rebuilt first: a receipt's scripts or actions never reach the customer.
            writer.append(PdfReader(io.BytesIO(pdf_sanitise(data))))
        except DocumentRefused:  # a damaged receipt: logged, the invoice still renders
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
    try:
        kind = image_check(data)  # SVG or anything else that is not a bounded PNG/JPEG: none
    except DocumentRefused:
        logger.warning("the logo of %s is not a PNG or JPEG within bounds; left out", entity)
        return ""
    return f"data:image/{kind};base64,{base64.b64encode(data).decode()}"


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
        try:
            kind = image_check(data)  # checked at upload; older receipts are checked here
        except DocumentRefused:
            logger.warning("receipt of expense %s is not a bounded PNG/JPEG; left out", expense.pk)
            continue
        src = f"data:image/{kind};base64,{base64.b64encode(data).decode()}"
        images.append({"expense": expense, "src": src})
    return images, pdfs


def invoice_pdf_store(invoice: Invoice) -> Invoice:
    """Render and store the PDF (called by the task, outside any transaction)."""
    data = render_invoice_pdf(invoice)
    name = f"{invoice.number or f'draft-{invoice.pk}'}.pdf"
    invoice.pdf.save(name, ContentFile(data), save=False)
    Invoice.objects.filter(pk=invoice.pk).update(pdf=invoice.pdf.name, updated_at=timezone.now())
    return invoice

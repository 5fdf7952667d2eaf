"""The invoice PDF: rendered by WeasyPrint, readable, with what a customer needs to pay."""

import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from billing.models import Invoice
from billing.services import billing_run_execute
from billing.services.pdf import invoice_pdf_store, render_invoice_pdf
from billing.tasks import render_invoice_pdf as render_task
from tests.billing.test_billing import PERIOD_END, TODAY, firm  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
ARTIFACTS = Path(settings.BASE_DIR) / "artifacts" / "pdf"


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        [shutil.which("pdftotext") or "pdftotext", "-layout", str(path), "-"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


def test_the_pdf_carries_number_lines_tax_totals_pay_link_and_bank_details(firm, tmp_path):  # noqa: F811
    firm.bank_details = "IBAN GB29 NWBK 6016 1331 9268 19"
    firm.save()
    billing_run_execute(
        legal_entity=firm, period_end=PERIOD_END, actor_label="t", issue=True, today=TODAY
    )
    invoice = Invoice.objects.get(customer__name="Northwind")
    pdf = render_invoice_pdf(invoice)
    assert pdf.startswith(b"%PDF")
    text = _text(pdf, tmp_path)
    for expected in (
        invoice.number, "ERP rollout", "37.5 h", "120.00 GBP", "4,500.00 GBP", "900.00 GBP",
        "5,400.00 GBP", "GB29 NWBK",
        f"Reference: {invoice.number}", "Professional services through 30 Nov 2026",
    ):  # fmt: skip
        assert expected in text, expected
    # Kept for a person to look at: artifacts/pdf/invoice-*.png (git-ignored).
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "invoice.pdf").write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "70",
            str(ARTIFACTS / "invoice.pdf"),
            str(ARTIFACTS / "invoice"),
        ],
        check=True,
    )


def test_a_reverse_charge_invoice_says_so(firm, tmp_path):  # noqa: F811
    billing_run_execute(
        legal_entity=firm, period_end=PERIOD_END, actor_label="t", issue=True, today=TODAY
    )
    text = _text(render_invoice_pdf(Invoice.objects.get(customer__name="Halcyon")), tmp_path)
    assert "Reverse charge" in text and "IE6388047V" in text


def test_the_task_stores_the_pdf(firm, settings, tmp_path):  # noqa: F811
    settings.MEDIA_ROOT = tmp_path
    billing_run_execute(
        legal_entity=firm, period_end=PERIOD_END, actor_label="t", issue=True, today=TODAY
    )
    invoice = Invoice.objects.get(customer__name="Northwind")
    name = render_task(invoice.pk)
    invoice.refresh_from_db()
    assert invoice.pdf.name == name
    assert (tmp_path / name).read_bytes().startswith(b"%PDF")
    assert invoice_pdf_store(invoice).pdf.name.endswith(".pdf")


def test_billable_expense_receipts_are_appended_as_pages(firm, tmp_path):  # noqa: F811
    import datetime as dt
    import io
    from decimal import Decimal

    from django.core.files.base import ContentFile
    from PIL import Image
    from weasyprint import HTML

    from projects.models import Project
    from timesheets.models import Expense

    erp = Project.objects.get(code="erp")
    png = io.BytesIO()
    Image.new("RGB", (400, 300), (15, 118, 110)).save(png, format="PNG")
    receipt_pdf = HTML(string="<p>TAXI-RECEIPT-4711</p>").write_pdf()
    for name, data, text in (
        ("hotel.png", png.getvalue(), "Hotel Leeds"),
        ("taxi.pdf", receipt_pdf, "Taxi"),
    ):
        expense = Expense(
            person=erp.manager, project=erp, date=dt.date(2026, 11, 18), amount=Decimal("80"),
            currency="GBP", category="travel", description=text, status="approved",
        )  # fmt: skip
        expense.receipt.save(name, ContentFile(data), save=False)
        expense.save()
    billing_run_execute(
        legal_entity=firm, period_end=PERIOD_END, actor_label="t", issue=True, today=TODAY
    )
    invoice = Invoice.objects.get(customer__name="Northwind")
    pdf = render_invoice_pdf(invoice)
    text = _text(pdf, tmp_path)
    assert "Receipt: Hotel Leeds" in text  # the image receipt, as a page of the document
    assert "TAXI-RECEIPT-4711" in text  # the PDF receipt, appended
    pages = text.count("\f")
    assert pages == 3
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "invoice-with-receipts.pdf").write_bytes(pdf)


def test_the_letterhead_carries_the_logo_on_the_entitys_paper(firm, tmp_path):  # noqa: F811
    import io

    from django.core.files.base import ContentFile
    from PIL import Image
    from pypdf import PdfReader

    png = io.BytesIO()
    Image.new("RGB", (240, 80), (15, 118, 110)).save(png, format="PNG")
    firm.logo.save("acme.png", ContentFile(png.getvalue()), save=False)
    firm.paper_size = "letter"
    firm.save()
    billing_run_execute(
        legal_entity=firm, period_end=PERIOD_END, actor_label="t", issue=True, today=TODAY
    )
    page = PdfReader(io.BytesIO(render_invoice_pdf(Invoice.objects.first()))).pages[0]
    assert (round(page.mediabox.width), round(page.mediabox.height)) == (612, 792)  # Letter
    assert len(page.images) == 1  # the logo

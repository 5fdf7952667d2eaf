"""What users put into the invoice PDF cannot make the renderer fetch URLs or read local files,
and a receipt's scripts, actions, forms and attachments never reach the customer."""

import datetime as dt
import io
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from billing.models import Invoice
from billing.services import billing_run_execute
from billing.services.pdf import _url_fetcher, render_invoice_pdf
from projects.models import Project
from tests.billing.test_billing import PERIOD_END, TODAY, firm  # noqa: F401 - the fixture
from timesheets.models import Expense

pytestmark = pytest.mark.django_db


@pytest.fixture
def listener():
    """A local HTTP server recording every request: the renderer must never call it."""
    calls: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            calls.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", calls
    server.shutdown()
    server.server_close()


def _issue(entity) -> Invoice:
    billing_run_execute(
        legal_entity=entity, period_end=PERIOD_END, actor_label="t", issue=True, today=TODAY
    )
    return Invoice.objects.get(customer__name="Northwind")


def _png(size=(240, 80), mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, format="PNG")
    return out.getvalue()


def test_a_legal_name_cannot_break_out_of_its_css_string(firm, listener):  # noqa: F811
    base, calls = listener
    firm.legal_name = f"Acme Ltd\n; content: counter(page); background: url({base}/css);\n"
    firm.tax_id = f"GB\n;background:url({base}/t)"
    firm.save()
    pdf = render_invoice_pdf(_issue(firm))
    assert pdf.startswith(b"%PDF")
    assert calls == []


def test_an_svg_logo_is_left_out_and_fetches_nothing(firm, listener, tmp_path):  # noqa: F811
    base, calls = listener
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'width="10" height="10"><image xlink:href="{base}/svg-logo" width="10" height="10"/>'
        f'<image xlink:href="file://{secret}" width="10" height="10"/></svg>'
    )
    # Stored as an older version (or the admin without the validator) could have left it.
    type(firm).objects.filter(pk=firm.pk).update(logo="logos/evil.png")
    firm.refresh_from_db()
    firm.logo.storage.save("logos/evil.png", ContentFile(svg.encode()))
    try:
        pdf = render_invoice_pdf(_issue(firm))
    finally:
        firm.logo.storage.delete("logos/evil.png")
    assert calls == []
    assert len(PdfReader(io.BytesIO(pdf)).pages[0].images) == 0


def test_the_fetcher_serves_our_static_files_and_nothing_else(listener, tmp_path):
    base, calls = listener
    fetcher = _url_fetcher()
    static_file = next(p for p in settings.STATICFILES_DIRS[0].rglob("*.css"))
    assert fetcher(static_file.as_uri()).read()
    assert fetcher("data:text/plain;base64,aGk=").read() == b"hi"
    outside = tmp_path / "outside.txt"
    outside.write_text("no")
    for url in (f"{base}/x", "file:///etc/passwd", outside.as_uri(), "ftp://127.0.0.1/x"):
        with pytest.raises(ValueError):
            fetcher(url)
    assert calls == []


def test_a_logo_must_be_a_bounded_png_or_jpeg(firm):  # noqa: F811
    firm.logo.save("acme.svg", ContentFile(b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
                   save=False)  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        firm.full_clean()
    assert "logo" in caught.value.message_dict
    firm.logo.save("huge.png", ContentFile(_png((3000, 3000), mode="1")), save=False)
    with pytest.raises(ValidationError) as caught:
        firm.full_clean()
    assert "megapixels" in caught.value.message_dict["logo"][0]
    firm.logo.save("ok.png", ContentFile(_png()), save=False)
    firm.full_clean()


def _evil_receipt() -> bytes:
    """A receipt with page-level JavaScript (/AA), an open action, a document script, a link
    annotation running JavaScript, a form and an embedded file."""
    from weasyprint import HTML

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(
        HTML(string="<p>TAXI-RECEIPT-4711</p>").write_pdf()
    )))  # fmt: skip
    js = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                           NameObject("/JS"): TextStringObject("app.alert('page')")})  # fmt: skip
    page = writer.pages[0]
    page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): js})
    writer._root_object[NameObject("/Names")] = DictionaryObject({
        NameObject("/JavaScript"): DictionaryObject({NameObject("/Names"): ArrayObject(
            [TextStringObject("doc"), writer._add_object(js)]
        )}),
    })  # fmt: skip
    writer._root_object[NameObject("/OpenAction")] = js
    writer.add_attachment("payload.exe", b"MZ evil")
    writer.add_annotation(0, DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
        NameObject("/Rect"): writer.pages[0].mediabox, NameObject("/A"): js,
    }))  # fmt: skip
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_receipt_joins_the_invoice_without_scripts_actions_or_attachments(firm, tmp_path):  # noqa: F811
    from tests.billing.test_pdf import _text

    evil = _evil_receipt()
    assert b"/JavaScript" in evil and b"/AA" in evil  # the control: the receipt carries them
    erp = Project.objects.get(code="erp")
    expense = Expense(
        person=erp.manager, project=erp, date=dt.date(2026, 11, 18), amount=Decimal("80"),
        currency="GBP", category="travel", description="Taxi", status="approved",
    )  # fmt: skip
    expense.receipt.save("taxi.pdf", ContentFile(evil), save=False)
    expense.save()
    pdf = render_invoice_pdf(_issue(firm))
    assert "TAXI-RECEIPT-4711" in _text(pdf, tmp_path)  # the receipt is still there
    for marker in (b"/JavaScript", b"/JS", b"/OpenAction", b"/AA", b"/EmbeddedFile",
                   b"/AcroForm", b"payload.exe", b"app.alert"):  # fmt: skip
        assert marker not in pdf, marker
    reader = PdfReader(io.BytesIO(pdf))
    assert all("/Annots" not in p or not p["/Annots"] for p in reader.pages[1:])

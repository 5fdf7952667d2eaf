"""Receipts are checked by content before they are accepted: images bounded in pixels and
decoded size (a small PNG can decode to gigabytes in the PDF renderer), PDFs readable."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.api.conftest import as_token
from timesheets.models import Expense

pytestmark = pytest.mark.django_db


def _png(size, mode="1") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, format="PNG", optimize=True)
    return out.getvalue()


def _upload(consultant, name, data, content_type):
    client = as_token(consultant, "timesheets:write")
    return client.post("/api/v1/time/expenses/", {
        "project": "apollo", "date": "2026-11-16", "amount": "42.10", "category": "travel",
        "receipt": SimpleUploadedFile(name, data, content_type=content_type)},
        format="multipart")  # fmt: skip


def test_a_12000_by_12000_png_receipt_is_refused_naming_receipt(consultant, project):
    bomb = _png((12000, 12000))
    assert len(bomb) < 1024 * 1024  # small on disk: only its pixels give it away
    response = _upload(consultant, "r.png", bomb, "image/png")
    assert response.status_code == 400
    body = response.json()["error"]
    assert "receipt" in body["fields"]
    assert "12000 x 12000" in body["message"]
    assert not Expense.objects.exists()


def test_an_image_with_a_png_signature_but_no_image_is_refused(consultant, project):
    response = _upload(consultant, "r.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png")
    assert response.status_code == 400
    assert "receipt" in response.json()["error"]["fields"]


def test_a_pdf_that_cannot_be_read_is_refused(consultant, project):
    response = _upload(consultant, "r.pdf", b"%PDF-1.4 not really", "application/pdf")
    assert response.status_code == 400
    assert "receipt" in response.json()["error"]["fields"]


def test_an_ordinary_photo_receipt_is_accepted(consultant, project):
    response = _upload(consultant, "r.jpg", _png((1200, 1600), mode="RGB"), "image/png")
    assert response.status_code == 201, response.content
    assert Expense.objects.get().receipt.name.endswith(".png")

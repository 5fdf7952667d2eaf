# ruff: noqa: F811 - fixtures imported from payment_fixtures
"""The customer opens the pay link from the invoice e-mail, sees the invoice and downloads it."""

from pathlib import Path

import pytest

from tests.billing.payment_fixtures import customer, firm, invoice  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_customer_opens_the_pay_link_sees_the_invoice_and_downloads_the_pdf(
    page, screenshot, invoice, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    settings.STRIPE_SECRET_KEY = ""  # no card payments configured: bank transfer only
    response = page.goto(f"/pay/{invoice.pay_token}/")
    assert response.status == 200
    assert response.headers["x-robots-tag"] == "noindex, nofollow"
    assert page.get_by_role("heading", name=f"Invoice {invoice.number}").is_visible()
    assert page.get_by_test_id("amount-due").inner_text() == "1,200.00 GBP"
    assert page.get_by_test_id("pay-status").inner_text() == "due"
    assert "GB29 NWBK" in page.locator(".bank-details").inner_text()
    assert page.get_by_role("button", name="by card").count() == 0
    screenshot(page, "pay-page")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    download = info.value
    assert download.suggested_filename == f"{invoice.number}.pdf"
    saved = Path(download.path())
    assert saved.read_bytes().startswith(b"%PDF")

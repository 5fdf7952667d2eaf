"""Finance bills from the pages: preview, create and issue, read, void, download."""

import pytest

from billing.models import Invoice
from tests.billing.test_billing import PERIOD_END, firm  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("persona", ["consultant", "project_manager", "outsider"])
def test_billing_pages_are_for_finance(client, request, firm, persona):  # noqa: F811
    client.force_login(request.getfixturevalue(persona))
    for url in ("/billing/", "/billing/run/"):
        assert client.get(url).status_code == 403


def test_finance_previews_creates_issues_reads_voids_and_downloads(client, finance, firm):  # noqa: F811
    client.force_login(finance)
    preview = client.get("/billing/run/", {"entity": "uk", "period_end": PERIOD_END.isoformat()})
    html = preview.content.decode()
    assert "Preview: 2 invoices for 10 time entries" in html
    assert "4,500.00 GBP" in html
    assert not Invoice.objects.exists()

    created = client.post(
        "/billing/run/", {"entity": "uk", "period_end": PERIOD_END.isoformat(), "issue": "1"}
    )
    assert created.status_code == 302
    assert Invoice.objects.filter(status="issued").count() == 2
    listing = client.get(created["Location"]).content.decode()
    assert "INV-" in listing and "Total in GBP" in listing

    invoice = Invoice.objects.get(customer__name="Northwind")
    detail = client.get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert invoice.number in detail
    assert "Accounts receivable" in detail  # its journal entry
    assert "invoice.issued" in detail  # its history

    pdf = client.get(f"/billing/invoices/{invoice.pk}/pdf/")
    assert pdf.status_code == 200
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")

    no_reason = client.post(f"/billing/invoices/{invoice.pk}/void/", {"reason": ""})
    assert no_reason.status_code == 400
    voided = client.post(f"/billing/invoices/{invoice.pk}/void/", {"reason": "Wrong rate"})
    credit = Invoice.objects.get(kind="credit_note")
    assert voided["Location"] == f"/billing/invoices/{credit.pk}/"
    assert Invoice.objects.get(pk=invoice.pk).status == "void"


def test_filters_narrow_the_list(client, finance, firm):  # noqa: F811
    client.force_login(finance)
    client.post(
        "/billing/run/", {"entity": "uk", "period_end": PERIOD_END.isoformat(), "issue": "0"}
    )
    assert "Draft" in client.get("/billing/", {"status": "draft"}).content.decode()
    assert "No invoices match." in client.get("/billing/", {"status": "paid"}).content.decode()
    assert client.get("/billing/run/", {"period_end": "soon"}).status_code == 400

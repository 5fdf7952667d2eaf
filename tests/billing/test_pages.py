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


def test_finance_sets_up_how_a_project_bills(client, django_user_model):
    import datetime as dt

    from billing.models import BillingTerms, RecurringFee, UsageQuantity
    from psa.kernel.roles import Role
    from tests.crm.factories import CustomerFactory
    from tests.ledger.factories import books
    from tests.projects.factories import ProjectFactory
    from tests.psa.factories import UserFactory

    entity = books(code="uk", functional_currency="GBP")
    customer = CustomerFactory(legal_entity=entity, currency="GBP")
    fund = ProjectFactory(customer=customer, billing_model="prepaid_fund", code="fund")
    saas = ProjectFactory(customer=customer, billing_model="subscription", code="saas")
    client.force_login(UserFactory(roles=[Role.PROJECT_MANAGER]))
    assert client.get(f"/billing/projects/{fund.pk}/").status_code == 403
    client.force_login(UserFactory(roles=[Role.FINANCE]))
    project_page = client.get("/projects/fund/").content.decode()
    assert f"/billing/projects/{fund.pk}/" in project_page
    bad = client.post(f"/billing/projects/{fund.pk}/", {"action": "terms", "fund_threshold": "500"})
    assert bad.status_code == 400 and "both a threshold and a top-up" in bad.content.decode()
    assert not BillingTerms.objects.exists()
    client.post(
        f"/billing/projects/{fund.pk}/",
        {"action": "terms", "fund_threshold": "500", "fund_top_up": "2000"},
    )
    assert BillingTerms.objects.get(project=fund).fund_top_up == 2000
    assert "Prepaid fund balance" in client.get(f"/billing/projects/{fund.pk}/").content.decode()
    client.post(
        f"/billing/projects/{saas.pk}/",
        {
            "action": "fee", "kind": "subscription", "description": "Managed laptops",
            "unit_price": "15", "quantity": "10", "period_months": "1",
            "start_date": "2026-11-01",
        },
    )  # fmt: skip
    fee = RecurringFee.objects.get(project=saas)
    page = client.get(f"/billing/projects/{saas.pk}/").content.decode()
    assert "Managed laptops" in page and "1 Nov 2026" in page
    client.post(
        f"/billing/projects/{saas.pk}/",
        {"action": "usage", "fee": fee.pk, "period_start": "2026-12-01", "quantity": "14"},
    )
    assert UsageQuantity.objects.get(fee=fee).period_start == dt.date(2026, 12, 1)
    missing = client.post(
        f"/billing/projects/{saas.pk}/",
        {"action": "fee", "kind": "subscription", "description": "", "unit_price": "1",
         "period_months": "1", "start_date": "2026-11-01"},
    )  # fmt: skip
    assert missing.status_code == 400 and "Describe the fee." in missing.content.decode()

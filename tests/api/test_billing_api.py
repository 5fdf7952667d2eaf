"""Billing over the API: preview writes nothing, execute + issue, void by credit note, PDF."""

import datetime as dt
from decimal import Decimal as D

import pytest

from billing.models import BillingRun, Invoice, TaxRate
from tests.api.conftest import as_token, as_user
from tests.crm.factories import CustomerFactory
from tests.ledger.factories import books
from tests.projects.factories import ProjectFactory, RateCardFactory
from tests.timesheets.factories import TimeEntryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def firm():
    uk = books(code="uk", functional_currency="GBP", name="Acme UK")
    TaxRate.objects.create(legal_entity=uk, name="VAT 20%", rate=D("0.20"), is_default=True)
    customer = CustomerFactory(legal_entity=uk, name="Northwind", currency="GBP")
    erp = ProjectFactory(customer=customer, code="erp", name="ERP rollout")
    RateCardFactory(project=erp, rate=D("120.00"), currency="GBP")
    for day in (16, 17):
        TimeEntryFactory(project=erp, date=dt.date(2026, 11, day), hours=D("7.5"),
                         status="approved")  # fmt: skip
    return uk


RUN = {"legal_entity": "uk", "period_end": "2026-11-30"}


def test_preview_shows_priced_lines_and_writes_nothing(finance, firm):
    response = as_user(finance).post("/api/v1/billing/runs/preview/", RUN, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    (invoice,) = body["invoices"]
    (line,) = invoice["lines"]
    assert (line["kind"], line["quantity"], line["unit_price"], line["net"], line["entries"]) == (
        "time", "15.00", "120.0000", "1800.00", 2,
    )  # fmt: skip
    assert (invoice["subtotal"], invoice["tax_total"], invoice["total"]) == (
        "1800.00", "360.00", "2160.00",
    )  # fmt: skip
    assert not Invoice.objects.exists() and not BillingRun.objects.exists()


def test_execute_issue_then_void_by_credit_note(finance, firm):
    client = as_user(finance)
    run = client.post("/api/v1/billing/runs/", RUN | {"issue": True}, format="json")
    assert run.status_code == 201, run.content
    assert (run.json()["invoices_created"], run.json()["entries_billed"]) == (1, 2)
    # Running again bills nothing twice.
    again = client.post("/api/v1/billing/runs/", RUN | {"issue": True}, format="json")
    assert again.json()["invoices_created"] == 0

    (row,) = client.get("/api/v1/billing/invoices/", {"status": "issued"}).json()["results"]
    assert row["total"] == "2160.00" and row["number"]
    detail = client.get(f"/api/v1/billing/invoices/{row['id']}/")
    assert detail["ETag"] and len(detail.json()["lines"]) == 1

    assert client.post(f"/api/v1/billing/invoices/{row['id']}/void/", {}, format="json")\
        .status_code == 400  # fmt: skip
    credit = client.post(f"/api/v1/billing/invoices/{row['id']}/void/", {"reason": "Wrong PO"},
                         format="json")  # fmt: skip
    assert credit.status_code == 201
    assert (credit.json()["kind"], credit.json()["total"]) == ("credit_note", "-2160.00")
    assert credit.json()["credits"] == row["id"]
    assert Invoice.objects.get(pk=row["id"]).status == "void"


def test_invoice_filters(finance, firm):
    client = as_user(finance)
    client.post("/api/v1/billing/runs/", RUN | {"issue": True}, format="json")
    customer = firm.customers.get().pk
    assert (
        len(client.get("/api/v1/billing/invoices/", {"customer": customer}).json()["results"]) == 1
    )
    assert (
        client.get("/api/v1/billing/invoices/", {"customer": customer + 99}).json()["results"] == []
    )
    assert client.get("/api/v1/billing/invoices/", {"project": "erp"}).json()["count"] == 1
    # Issued today with 30 days' terms: not overdue.
    assert client.get("/api/v1/billing/invoices/", {"overdue": "true"}).json()["count"] == 0
    assert client.get("/api/v1/billing/invoices/", {"overdue": "false"}).json()["count"] == 1
    Invoice.objects.update(due_date=dt.date(2020, 1, 1))
    assert client.get("/api/v1/billing/invoices/", {"overdue": "true"}).json()["count"] == 1
    assert client.get("/api/v1/billing/invoices/",
                      {"issue_date_before": "2020-01-01"}).json()["count"] == 0  # fmt: skip


def test_pdf_download_renders_a_missing_pdf(finance, firm):
    client = as_user(finance)
    client.post("/api/v1/billing/runs/", RUN | {"issue": True}, format="json")
    invoice = Invoice.objects.get()
    response = client.get(f"/api/v1/billing/invoices/{invoice.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    invoice.refresh_from_db()
    assert invoice.pdf.name  # stored for next time


@pytest.mark.parametrize("persona", ["consultant", "project_manager", "outsider"])
def test_billing_is_for_finance_only(request, firm, persona):
    client = as_user(request.getfixturevalue(persona))
    assert client.get("/api/v1/billing/invoices/").status_code == 403
    assert client.post("/api/v1/billing/runs/", RUN, format="json").status_code == 403
    assert not BillingRun.objects.exists()


def test_a_billing_read_token_cannot_run_billing(finance, firm):
    reader = as_token(finance, "billing:read")
    assert reader.get("/api/v1/billing/invoices/").status_code == 200
    assert reader.post("/api/v1/billing/runs/", RUN, format="json").status_code == 403


def test_project_profitability_compares_invoiced_net_and_approved_time(finance, firm):
    client = as_user(finance)
    client.post("/api/v1/billing/runs/", RUN | {"issue": True}, format="json")
    TimeEntryFactory(project=firm.customers.get().projects.get(), date=dt.date(2026, 12, 1),
                     hours=D("2"), status="approved")  # fmt: skip
    body = client.get("/api/v1/billing/reports/project-profitability/",
                      {"start": "2026-01-01", "end": "2026-12-31"}).json()  # fmt: skip
    (row,) = body["results"]
    assert (row["project"], row["invoiced_net"], row["approved_hours"],
            row["approved_time_value"], row["difference"]) == (
        "erp", "1800.00", "17.00", "2040.00", "-240.00",
    )  # fmt: skip
    bad = client.get("/api/v1/billing/reports/project-profitability/",
                     {"start": "2026-12-31", "end": "2026-01-01"})  # fmt: skip
    assert bad.status_code == 400 and "end" in bad.json()["error"]["fields"]

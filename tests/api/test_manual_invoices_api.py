"""Manual invoices over the API: finance drafts an invoice with typed-in lines for a customer,
priced by the pricing service (never the client's totals), then issues it as any other."""

from decimal import Decimal as D

import pytest

from billing.models import Invoice, InvoiceStatus, TaxRate
from crm.models import TaxTreatment
from ledger.models import JournalEntry
from ledger.selectors import trial_balance
from projects.models import ServiceItem
from tests.api.conftest import as_token, as_user
from tests.crm.factories import CustomerFactory
from tests.ledger.factories import books
from tests.projects.factories import ProjectFactory

pytestmark = pytest.mark.django_db
INVOICES = "/api/v1/billing/invoices/"


@pytest.fixture
def firm(project_manager):
    uk = books(code="uk", functional_currency="GBP", name="Acme UK")
    TaxRate.objects.create(legal_entity=uk, name="VAT 20%", rate=D("0.20"), is_default=True)
    customer = CustomerFactory(legal_entity=uk, name="Globex", currency="GBP")
    other = CustomerFactory(legal_entity=uk, name="Initech", currency="GBP")
    ProjectFactory(customer=customer, code="p1", manager=project_manager)
    ProjectFactory(customer=other, code="p2", manager=project_manager)
    ServiceItem.objects.create(code="training", name="Training")
    return {"entity": uk, "customer": customer, "other": other}


def _body(firm, **extra):
    return {"customer": firm["customer"].pk, "project": "p1", "lines": [
        {"description": "Workshop", "quantity": "2", "unit_price": "333.3333",
         "service_item": "training"},
        {"description": "Travel", "quantity": "1", "unit_price": "80", "taxable": False},
    ], **extra}  # fmt: skip


def test_a_draft_is_priced_by_the_service_then_issued(finance, firm):
    client = as_token(finance, "billing:write")
    created = client.post(INVOICES, _body(firm), format="json")
    assert created.status_code == 201, created.content
    draft = created.json()
    assert draft["status"] == "draft" and draft["number"] is None
    # 2 x 333.3333 = 666.67 net, 133.33 tax; travel untaxed.
    assert [ln["net"] for ln in draft["lines"]] == ["666.67", "80.00"]
    assert [ln["tax"] for ln in draft["lines"]] == ["133.33", "0.00"]
    assert (draft["subtotal"], draft["tax_total"], draft["total"]) == ("746.67", "133.33",
                                                                       "880.00")  # fmt: skip
    listed = client.get(INVOICES, {"status": "draft"}).json()["results"]
    assert [r["id"] for r in listed] == [draft["id"]]
    issued = client.post(f"{INVOICES}{draft['id']}/issue/", format="json")
    assert issued.status_code == 200, issued.content
    invoice = Invoice.objects.get(pk=draft["id"])
    assert invoice.status == InvoiceStatus.ISSUED and invoice.number
    assert invoice.total == D("880.00")
    assert JournalEntry.objects.filter(legal_entity=firm["entity"]).exists()
    rows = trial_balance(legal_entity=firm["entity"], as_of=invoice.issue_date)
    assert sum(r.debit for r in rows) == sum(r.credit for r in rows)


def test_a_reverse_charge_customer_gets_no_tax(finance, firm):
    customer = firm["customer"]
    customer.tax_treatment, customer.tax_id = TaxTreatment.REVERSE_CHARGE, "DE136695976"
    customer.save()
    created = as_user(finance).post(INVOICES, _body(firm), format="json")
    assert created.status_code == 201, created.content
    assert created.json()["tax_total"] == "0.00"
    assert "Reverse charge" in created.json()["reverse_charge_note"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"total": "1.00"}, "total"),  # totals are computed, never taken from the client
        ({"lines": []}, "lines"),
        ({"customer": 999999}, "customer"),
        ({"project": "p2"}, "project"),
        (
            {"lines": [{"description": "", "quantity": "1", "unit_price": "1"}]},
            "lines[0].description",
        ),
        (
            {"lines": [{"description": "X", "quantity": "0", "unit_price": "1"}]},
            "lines[0].quantity",
        ),
        (
            {"lines": [{"description": "X", "quantity": "1", "unit_price": "-1"}]},
            "lines[0].unit_price",
        ),
        (
            {"lines": [{"description": "X", "quantity": "1", "unit_price": "1", "net": "9"}]},
            "lines[0].net",
        ),
        (
            {"lines": [{"description": "X", "quantity": "1", "unit_price": "1", "project": "p2"}]},
            "lines[0].project",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(finance, firm, change, field):
    before = Invoice.objects.count()
    response = as_user(finance).post(INVOICES, _body(firm, **change), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert Invoice.objects.count() == before


def test_only_finance_drafts_invoices(consultant, project_manager, finance, firm):
    for user in (consultant, project_manager):
        assert as_user(user).post(INVOICES, _body(firm), format="json").status_code == 403
    read_only = as_token(finance, "billing:read")
    assert read_only.post(INVOICES, _body(firm), format="json").status_code == 403
    assert not Invoice.objects.exists()


def test_the_same_idempotency_key_drafts_one_invoice(finance, firm):
    client = as_token(finance, "billing:write")
    first = client.post(INVOICES, _body(firm), format="json", HTTP_IDEMPOTENCY_KEY="draft-1")
    again = client.post(INVOICES, _body(firm), format="json", HTTP_IDEMPOTENCY_KEY="draft-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert Invoice.objects.count() == 1

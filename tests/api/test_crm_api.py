"""CRM over the API: customers, contacts, opportunities — scoped, versioned, filtered."""

import datetime as dt

import pytest
from django.utils import timezone

from crm.models import Customer, Opportunity
from tests.api.conftest import as_token, as_user
from tests.crm.factories import CustomerFactory, OpportunityFactory
from tests.ledger.factories import books
from tests.projects.factories import ProjectFactory, ProjectTemplateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def uk():
    return books(code="uk", functional_currency="GBP")


def test_finance_creates_and_updates_a_customer_with_if_match(finance, uk):
    client = as_user(finance)
    body = {"legal_entity": "uk", "name": "Initech", "country": "gb", "currency": "gbp",
            "billing_email": "ap@initech.test"}  # fmt: skip
    created = client.post("/api/v1/crm/customers/", body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert (created.json()["country"], created.json()["currency"]) == ("GB", "GBP")

    read = client.get(f"/api/v1/crm/customers/{pk}/")
    etag = read["ETag"]
    changed = client.patch(f"/api/v1/crm/customers/{pk}/", {"payment_terms_days": 14},
                           format="json", HTTP_IF_MATCH=etag)  # fmt: skip
    assert changed.status_code == 200
    assert changed.json()["payment_terms_days"] == 14
    assert changed["ETag"] != etag

    # A second writer still holding the old ETag loses: 412, nothing written.
    stale = client.patch(f"/api/v1/crm/customers/{pk}/", {"payment_terms_days": 60},
                         format="json", HTTP_IF_MATCH=etag)  # fmt: skip
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "precondition_failed"
    assert Customer.objects.get(pk=pk).payment_terms_days == 14


def test_bad_customer_input_is_a_400_naming_the_field(finance, uk):
    client = as_user(finance)
    response = client.post("/api/v1/crm/customers/", {"legal_entity": "uk", "name": "X",
                           "country": "GB", "currency": "GBP",
                           "payment_terms_days": 900}, format="json")  # fmt: skip
    assert response.status_code == 400
    assert "payment_terms_days" in response.json()["error"]["fields"]
    assert not Customer.objects.exists()


def test_a_manager_sees_only_their_customers_and_a_consultant_none(project_manager, consultant, uk):
    mine = CustomerFactory(legal_entity=uk, name="Mine")
    ProjectFactory(customer=mine, manager=project_manager)
    other = CustomerFactory(legal_entity=uk, name="Other")
    rows = as_user(project_manager).get("/api/v1/crm/customers/").json()["results"]
    assert [r["name"] for r in rows] == ["Mine"]
    assert as_user(project_manager).get(f"/api/v1/crm/customers/{other.pk}/").status_code == 404
    assert as_user(consultant).get("/api/v1/crm/customers/").status_code == 403


def test_updated_since_returns_only_rows_changed_after(finance, uk):
    old = CustomerFactory(legal_entity=uk, name="Old")
    Customer.objects.filter(pk=old.pk).update(updated_at=timezone.now() - dt.timedelta(days=2))
    CustomerFactory(legal_entity=uk, name="Fresh")
    since = (timezone.now() - dt.timedelta(days=1)).isoformat()
    rows = as_user(finance).get("/api/v1/crm/customers/", {"updated_since": since})
    assert [r["name"] for r in rows.json()["results"]] == ["Fresh"]
    bad = as_user(finance).get("/api/v1/crm/customers/", {"updated_since": "yesterday"})
    assert bad.status_code == 400 and "updated_since" in bad.json()["error"]["fields"]
    bad = as_user(finance).get("/api/v1/crm/customers/", {"ordering": "tax_id"})
    assert bad.status_code == 400 and "ordering" in bad.json()["error"]["fields"]


def test_contacts_are_added_and_changed(finance, uk):
    customer = CustomerFactory(legal_entity=uk)
    client = as_user(finance)
    created = client.post("/api/v1/crm/contacts/", {"customer": customer.pk, "name": "Ann",
                          "email": "ann@c.test"}, format="json")  # fmt: skip
    assert created.status_code == 201
    twin = client.post("/api/v1/crm/contacts/", {"customer": customer.pk, "name": "Ann 2",
                       "email": "ANN@c.test"}, format="json")  # fmt: skip
    assert twin.status_code == 400 and "email" in twin.json()["error"]["fields"]
    pk = created.json()["id"]
    changed = client.patch(f"/api/v1/crm/contacts/{pk}/", {"title": "CFO"}, format="json")
    assert changed.json()["title"] == "CFO"


def test_winning_an_opportunity_creates_the_project(finance, project_manager, uk):
    customer = CustomerFactory(legal_entity=uk)
    opp = OpportunityFactory(customer=customer, legal_entity=uk)
    ProjectTemplateFactory(code="std")
    client = as_user(finance)
    won = client.post(f"/api/v1/crm/opportunities/{opp.pk}/win/", {
        "template": "std", "project_code": "deal-1", "start_date": "2026-12-01",
        "manager": project_manager.email}, format="json")  # fmt: skip
    assert won.status_code == 200, won.content
    assert (won.json()["stage"], won.json()["project"]) == ("won", "deal-1")
    lost = client.post(f"/api/v1/crm/opportunities/{opp.pk}/lose/", {"reason": "x"}, format="json")
    assert lost.status_code == 409
    assert Opportunity.objects.get(pk=opp.pk).stage == "won"


def test_a_read_token_reads_but_cannot_write(finance, uk):
    CustomerFactory(legal_entity=uk)
    reader = as_token(finance, "crm:read")
    assert reader.get("/api/v1/crm/customers/").status_code == 200
    body = {"legal_entity": "uk", "name": "New", "country": "GB", "currency": "GBP"}
    assert reader.post("/api/v1/crm/customers/", body, format="json").status_code == 403
    writer = as_token(finance, "crm:write")
    assert writer.post("/api/v1/crm/customers/", body, format="json").status_code == 201
    # A token of another area opens nothing here; a leads-only token cannot read customers.
    assert as_token(finance, "billing:write").get("/api/v1/crm/customers/").status_code == 403
    assert as_token(finance, "leads:create").get("/api/v1/crm/customers/").status_code == 403


def test_the_create_api_token_command_prints_a_working_token(finance, uk):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("create_api_token", user=finance.email, name="cli", scopes=["crm:read"],
                 stdout=out)  # fmt: skip
    client = as_user(finance)
    client.logout()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {out.getvalue().strip()}")
    assert client.get("/api/v1/crm/customers/").status_code == 200
    assert client.get("/api/v1/projects/").status_code == 403  # not in its scopes

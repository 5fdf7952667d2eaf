"""The leads API: same services and duplicate rules as the form, one error shape, roles."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from crm.models import Lead, LeadSource
from tests.crm.factories import LeadFactory
from tests.ledger.factories import LegalEntityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


def test_a_crm_sync_creates_a_lead_then_a_repeat_attaches(api, project_manager):
    entity = LegalEntityFactory(code="acme-uk")
    api.force_authenticate(project_manager)
    body = {"legal_entity": "acme-uk", "name": "Priya", "email": "priya@orbital.example",
            "message": "Hello"}  # fmt: skip
    response = api.post("/api/v1/crm/leads/", body, format="json")
    assert response.status_code == 201
    assert response.json()["created"] is True
    lead = Lead.objects.get()
    assert (lead.source, lead.legal_entity, lead.owner) == (LeadSource.API, entity, project_manager)
    again = api.post("/api/v1/crm/leads/", {**body, "message": "Again"}, format="json")
    assert again.status_code == 200
    assert again.json()["created"] is False and again.json()["matched"] == "lead"
    assert again.json()["lead"]["submissions"] == 2


def test_invalid_fields_are_named_in_the_error_shape(api, finance):
    LegalEntityFactory(code="acme-uk")
    api.force_authenticate(finance)
    response = api.post(
        "/api/v1/crm/leads/", {"legal_entity": "nope", "name": "", "email": "x"}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error["fields"]) == {"legal_entity", "name", "email"}


def test_list_and_detail_for_finance(api, finance):
    lead = LeadFactory(status="qualified")
    LeadFactory()
    api.force_authenticate(finance)
    listing = api.get("/api/v1/crm/leads/", {"status": "qualified"})
    assert [row["id"] for row in listing.json()["results"]] == [lead.pk]
    assert api.get(f"/api/v1/crm/leads/{lead.pk}/").json()["email"] == lead.email


@pytest.mark.parametrize("persona", ["consultant", "outsider"])
def test_consultants_and_outsiders_get_403(api, request, persona):
    lead = LeadFactory()
    api.force_authenticate(request.getfixturevalue(persona))
    assert api.get("/api/v1/crm/leads/").status_code == 403
    assert api.get(f"/api/v1/crm/leads/{lead.pk}/").status_code == 403
    response = api.post("/api/v1/crm/leads/", {}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_a_website_token_may_post_leads_but_not_read_them(project_manager):
    from psa.kernel.services import api_token_create

    LegalEntityFactory(code="acme-uk")
    _token, plaintext = api_token_create(
        user=project_manager, name="Website", scopes=["leads:create"]
    )
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    body = {"legal_entity": "acme-uk", "name": "Priya", "email": "priya@orbital.example"}
    assert client.post("/api/v1/crm/leads/", body, format="json").status_code == 201
    assert client.get("/api/v1/crm/leads/").status_code == 403
    lead = Lead.objects.get()
    assert client.get(f"/api/v1/crm/leads/{lead.pk}/").status_code == 403


def test_a_crm_read_token_reads_but_cannot_post(finance):
    from psa.kernel.services import api_token_create

    LegalEntityFactory(code="acme-uk")
    LeadFactory()
    _token, plaintext = api_token_create(user=finance, name="BI", scopes=["crm:read"])
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert client.get("/api/v1/crm/leads/").status_code == 200
    body = {"legal_entity": "acme-uk", "name": "Priya", "email": "priya@orbital.example"}
    assert client.post("/api/v1/crm/leads/", body, format="json").status_code == 403


def test_a_lead_without_owner_or_with_a_broken_website_is_served(api, finance):
    from crm.services import website_domain

    assert website_domain("http://[broken") == ""
    lead = LeadFactory(owner=None)
    api.force_authenticate(finance)
    assert api.get(f"/api/v1/crm/leads/{lead.pk}/").json()["owner"] is None

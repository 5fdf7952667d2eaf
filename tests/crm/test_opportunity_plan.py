"""The template chosen for an opportunity (projects.OpportunityPlan, through crm.hooks):
set on create, changed and cleared by PATCH with If-Match, shown on the pages."""

import pytest

from crm.models import Opportunity
from tests.api.conftest import as_user
from tests.crm.factories import CustomerFactory
from tests.ledger.factories import books
from tests.projects.factories import ProjectTemplateFactory

pytestmark = pytest.mark.django_db


def test_the_planned_template_round_trips_through_api_and_pages(finance, client):
    uk = books(code="uk", functional_currency="GBP")
    t1, t2 = ProjectTemplateFactory(), ProjectTemplateFactory()
    c = CustomerFactory(legal_entity=uk)
    api = as_user(finance)
    r = api.post(
        "/api/v1/crm/opportunities/",
        {"name": "D", "customer": c.pk, "project_template": t1.code},
        format="json",
    )
    assert r.status_code == 201, r.content
    assert r.json()["project_template"] == t1.code and r.json()["project"] is None
    pk = r.json()["id"]
    etag = api.get(f"/api/v1/crm/opportunities/{pk}/")["ETag"]
    r = api.patch(
        f"/api/v1/crm/opportunities/{pk}/",
        {"project_template": t2.code},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert r.status_code == 200 and r.json()["project_template"] == t2.code
    assert r["ETag"] != etag
    r2 = api.patch(
        f"/api/v1/crm/opportunities/{pk}/", {"name": "x"}, format="json", HTTP_IF_MATCH=etag
    )
    assert r2.status_code == 412
    r = api.patch(f"/api/v1/crm/opportunities/{pk}/", {"project_template": "nope"}, format="json")
    assert r.status_code == 400, r.content
    client.force_login(finance)
    page = client.get(f"/crm/opportunities/{pk}/edit/")
    assert f'value="{t2.pk}" selected' in page.content.decode()
    page = client.get(f"/crm/opportunities/{pk}/")
    assert f'value="{t2.pk}" selected' in page.content.decode()
    r = api.patch(f"/api/v1/crm/opportunities/{pk}/", {"project_template": None}, format="json")
    assert r.json()["project_template"] is None
    r = api.post(
        f"/api/v1/crm/opportunities/{pk}/win/",
        {
            "template": t1.code,
            "project_code": "p-1",
            "start_date": "2026-01-05",
            "manager": "nobody@x.test",
        },
        format="json",
    )
    assert r.status_code == 400
    assert Opportunity.objects.get(pk=pk).stage != "won"

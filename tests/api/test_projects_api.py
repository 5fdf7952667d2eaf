"""Projects over the API: visibility as on the pages; only the manager or finance changes."""

import pytest

from projects.models import Milestone, Project
from tests.api.conftest import as_user
from tests.crm.factories import CustomerFactory
from tests.ledger.factories import books
from tests.projects.factories import (
    AssignmentFactory,
    MilestoneFactory,
    ProjectFactory,
    ProjectTemplateFactory,
)
from tests.psa.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_consultant_sees_only_projects_they_work_on(consultant, project):
    ProjectFactory(code="hidden")
    rows = as_user(consultant).get("/api/v1/projects/").json()["results"]
    assert [r["code"] for r in rows] == ["apollo"]
    assert as_user(consultant).get("/api/v1/projects/hidden/").status_code == 404


def test_only_the_manager_or_finance_change_a_project(consultant, project_manager, project):
    client = as_user(project_manager)
    etag = client.get("/api/v1/projects/apollo/")["ETag"]
    changed = client.patch("/api/v1/projects/apollo/", {"budget_hours": "120.00"},
                           format="json", HTTP_IF_MATCH=etag)  # fmt: skip
    assert changed.status_code == 200, changed.content
    assert changed.json()["budget_hours"] == "120.00"
    denied = as_user(consultant).patch("/api/v1/projects/apollo/", {"name": "X"}, format="json")
    assert denied.status_code == 403
    bad = client.patch("/api/v1/projects/apollo/", {"end_date": "2025-01-01"}, format="json")
    assert bad.status_code == 400 and "end_date" in bad.json()["error"]["fields"]
    assert Project.objects.get(code="apollo").name == "Apollo"


def test_a_project_is_created_from_a_template_and_staffed(finance, project_manager):
    books(code="uk")
    customer = CustomerFactory(legal_entity__code="uk")
    ProjectTemplateFactory(code="std")
    client = as_user(finance)
    created = client.post("/api/v1/projects/", {
        "template": "std", "customer": customer.pk, "code": "new-one", "name": "New one",
        "start_date": "2026-12-01", "manager": project_manager.email}, format="json")  # fmt: skip
    assert created.status_code == 201, created.content
    again = client.post("/api/v1/projects/", {
        "template": "std", "customer": customer.pk, "code": "new-one", "name": "Twice",
        "start_date": "2026-12-01", "manager": project_manager.email}, format="json")  # fmt: skip
    assert again.status_code == 400 and "code" in again.json()["error"]["fields"]
    person = UserFactory(roles=["consultant"])
    staffed = client.post("/api/v1/projects/new-one/assignments/",
                          {"person": person.email, "role": "Dev"}, format="json")  # fmt: skip
    assert staffed.status_code == 201
    twice = client.post("/api/v1/projects/new-one/assignments/", {"person": person.email},
                        format="json")  # fmt: skip
    assert twice.status_code == 400 and "person" in twice.json()["error"]["fields"]
    rate = client.post(
        "/api/v1/projects/new-one/rates/",
        {"rate": "130.00", "effective_from": "2026-12-01"},
        format="json",
    )
    assert rate.status_code == 201 and rate.json()["level"] == "project"


def test_milestones_change_while_planned_and_are_reached_once(project_manager, project):
    milestone = MilestoneFactory(project=project)
    client = as_user(project_manager)
    url = f"/api/v1/projects/milestones/{milestone.pk}/"
    etag = client.get(url)["ETag"]
    assert client.patch(url, {"amount": "6000.00"}, format="json",
                        HTTP_IF_MATCH=etag).status_code == 200  # fmt: skip
    reached = client.post(f"{url}reach/")
    assert reached.json()["status"] == "reached"
    # reaching moved the ETag; the old one is refused.
    assert client.patch(url, {"amount": "1.00"}, format="json",
                        HTTP_IF_MATCH=etag).status_code == 412  # fmt: skip
    locked = client.patch(url, {"amount": "1.00"}, format="json")
    assert locked.status_code == 409
    assert Milestone.objects.get(pk=milestone.pk).amount == 6000


def test_a_manager_does_not_see_another_managers_milestones(project_manager, project):
    other = ProjectFactory(code="other")
    MilestoneFactory(project=other)
    AssignmentFactory(project=other)
    MilestoneFactory(project=project)
    rows = as_user(project_manager).get("/api/v1/projects/milestones/").json()["results"]
    assert {r["project"] for r in rows} == {"apollo"}

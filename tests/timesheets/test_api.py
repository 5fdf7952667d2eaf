"""The timesheets API: the same services as the pages, one error shape."""

import datetime as dt
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from psa.kernel.services import api_token_create
from tests.projects.factories import ProjectFactory, TaskFactory
from tests.timesheets.factories import TimeEntryFactory
from timesheets.models import TimeEntry

pytestmark = pytest.mark.django_db

MON = dt.date(2026, 11, 16)


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    client.default_format = "json"  # the API takes JSON bodies only
    return client


def test_a_consultant_fills_and_submits_a_week(consultant, project):
    task = TaskFactory(project=project)
    client = api(consultant)
    cell = {"project": "apollo", "task": task.pk, "date": "2026-11-17", "hours": "7.5"}
    response = client.put("/api/v1/time/cell/", cell | {"note": "Build"}, format="json")
    assert response.status_code == 200
    assert response.json()["hours"] == "7.50"
    assert response.json()["task"] == task.name
    assert client.post("/api/v1/time/weeks/submit/", {"week": "2026-11-19"}).json() == {"count": 1}
    rows = client.get("/api/v1/time/entries/", {"week": "2026-11-16"}).json()
    assert [(r["date"], r["status"]) for r in rows] == [("2026-11-17", "submitted")]
    # Locked now: the error names the field.
    response = client.put("/api/v1/time/cell/", cell | {"hours": "8"}, format="json")
    assert response.status_code == 409
    assert "hours" in response.json()["error"]["fields"]


def test_bad_input_is_a_400_naming_the_field(consultant, project):
    client = api(consultant)
    response = client.put(
        "/api/v1/time/cell/",
        {"project": "apollo", "date": "2026-11-17", "hours": "25"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"hours": ["At most 24."]}
    response = client.put(
        "/api/v1/time/cell/", {"project": "apollo", "date": "x", "hours": "2"}, format="json"
    )
    assert response.status_code == 400
    assert "date" in response.json()["error"]["fields"]
    other = ProjectFactory(code="other")
    response = client.put(
        "/api/v1/time/cell/", {"project": other.code, "date": "2026-11-17", "hours": "2"}
    )
    assert response.status_code == 404
    assert not TimeEntry.objects.exists()


def test_the_manager_approves_and_rejects_through_the_api(project_manager, consultant, project):
    TimeEntryFactory(person=consultant, project=project, date=MON, status="submitted")
    TimeEntryFactory(
        person=consultant, project=project, date=MON + dt.timedelta(1), status="submitted"
    )
    client = api(project_manager)
    body = {"person": consultant.email, "week": "2026-11-16"}
    response = client.post(
        "/api/v1/time/weeks/reject/", body | {"day": "2026-11-17", "reason": "Wrong task"}
    )
    assert response.json() == {"count": 1}
    assert client.post("/api/v1/time/weeks/approve/", body).json() == {"count": 1}
    rows = client.get("/api/v1/time/entries/", body).json()
    assert [(r["status"], r["rejection_reason"]) for r in rows] == [
        ("approved", ""),
        ("rejected", "Wrong task"),
    ]


def test_who_may_use_the_api(consultant, outsider, finance, project):
    TimeEntryFactory(person=consultant, project=project, date=MON, hours="6")
    week = {"week": "2026-11-16", "person": consultant.email}
    assert api(outsider).get("/api/v1/time/entries/", week).status_code == 403
    assert len(api(finance).get("/api/v1/time/entries/", week).json()) == 1
    assert api(finance).put("/api/v1/time/cell/", {}).status_code == 403
    assert api(consultant).post("/api/v1/time/weeks/approve/", week).status_code == 403
    # A consultant asking for someone else's week sees nothing of it.
    other = TimeEntryFactory(project=project, date=MON)
    rows = api(consultant).get("/api/v1/time/entries/", week | {"person": other.person.email})
    assert rows.json() == []


def test_a_token_needs_the_timesheets_scope(client, consultant, project):
    TimeEntryFactory(person=consultant, project=project, date=MON, hours="6")
    _, read_only = api_token_create(user=consultant, name="bi", scopes=["timesheets:read"])
    _, other_area = api_token_create(user=consultant, name="crm", scopes=["crm:read"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {read_only}"}
    rows = client.get("/api/v1/time/entries/", {"week": "2026-11-16"}, **headers).json()
    assert [Decimal(r["hours"]) for r in rows] == [Decimal("6")]
    cell = {"project": "apollo", "date": "2026-11-17", "hours": "2"}
    assert client.put("/api/v1/time/cell/", cell, **headers).status_code == 403
    headers = {"HTTP_AUTHORIZATION": f"Bearer {other_area}"}
    assert client.get("/api/v1/time/entries/", {"week": "2026-11-16"}, **headers).status_code == 403

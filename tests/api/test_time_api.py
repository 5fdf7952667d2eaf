"""Time, expenses and approval policies over the API."""

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfWriter

from tests.api.conftest import as_token, as_user
from tests.projects.factories import AssignmentFactory, ProjectFactory
from tests.timesheets.factories import ApprovalPolicyFactory, TimeEntryFactory
from timesheets.models import ApprovalPolicy, Expense, TimeEntry

pytestmark = pytest.mark.django_db


def test_bulk_create_is_all_or_nothing_and_names_the_bad_entry(consultant, project):
    client = as_user(consultant)
    good = {"project": "apollo", "date": "2026-11-16", "hours": "7.5", "note": "Build"}
    bad = {"project": "apollo", "date": "2026-11-17", "hours": "25"}
    response = client.post("/api/v1/time/entries/bulk/", {"entries": [good, bad]}, format="json")
    assert response.status_code == 400
    assert "entries[1].hours" in response.json()["error"]["fields"]
    assert not TimeEntry.objects.exists()

    days = [good | {"date": f"2026-11-{d}"} for d in (16, 17, 18)]
    response = client.post("/api/v1/time/entries/bulk/", {"entries": days}, format="json")
    assert response.status_code == 201
    assert [r["date"] for r in response.json()] == ["2026-11-16", "2026-11-17", "2026-11-18"]
    assert TimeEntry.objects.filter(person=consultant).count() == 3


def test_bulk_refuses_a_project_not_open_to_you(consultant, project):
    ProjectFactory(code="closed-to-me")
    cell = {"project": "closed-to-me", "date": "2026-11-16", "hours": "1"}
    response = as_user(consultant).post("/api/v1/time/entries/bulk/", {"entries": [cell]},
                                        format="json")  # fmt: skip
    assert response.status_code == 404
    assert not TimeEntry.objects.exists()


def test_a_consultant_sees_only_their_own_time(consultant, project):
    mine = TimeEntryFactory(project=project, person=consultant)
    theirs = TimeEntryFactory(project=project, person=AssignmentFactory(project=project).person)
    client = as_user(consultant)
    rows = client.get("/api/v1/time/entries/search/").json()["results"]
    assert [r["id"] for r in rows] == [mine.pk]
    assert client.get(f"/api/v1/time/entries/{theirs.pk}/").status_code == 404


def test_a_manager_sees_the_time_on_their_projects(project_manager, consultant, project):
    TimeEntryFactory(project=project, person=consultant)
    TimeEntryFactory(project=ProjectFactory(code="else"), person=consultant)
    rows = as_user(project_manager).get("/api/v1/time/entries/search/").json()["results"]
    assert [r["project"] for r in rows] == ["apollo"]


def test_entry_changes_need_the_current_etag(consultant, project):
    entry = TimeEntryFactory(project=project, person=consultant, hours="4")
    client = as_user(consultant)
    url = f"/api/v1/time/entries/{entry.pk}/"
    etag = client.get(url)["ETag"]
    assert client.patch(url, {"hours": "6"}, format="json", HTTP_IF_MATCH=etag).status_code == 200
    stale = client.patch(url, {"hours": "2"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    entry.refresh_from_db()
    assert entry.hours == 6
    assert client.delete(url, HTTP_IF_MATCH=client.get(url)["ETag"]).status_code == 204
    assert not TimeEntry.objects.filter(pk=entry.pk).exists()


def test_time_filters_by_status_project_and_dates(finance, consultant, project):
    TimeEntryFactory(project=project, person=consultant, date=dt.date(2026, 11, 2))
    TimeEntryFactory(project=project, person=consultant, date=dt.date(2026, 11, 20),
                     status="approved")  # fmt: skip
    client = as_user(finance)
    rows = client.get("/api/v1/time/entries/search/",
                      {"status": "approved", "project": "apollo", "date_after": "2026-11-10",
                       "ordering": "-date"}).json()["results"]  # fmt: skip
    assert [r["date"] for r in rows] == ["2026-11-20"]
    bad = client.get("/api/v1/time/entries/search/", {"status": "nope"})
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]


def test_an_expense_with_a_receipt_is_uploaded(consultant, project):
    client = as_token(consultant, "timesheets:write")
    pdf = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.write(pdf)
    receipt = SimpleUploadedFile("r.pdf", pdf.getvalue(), content_type="application/pdf")
    response = client.post("/api/v1/time/expenses/", {
        "project": "apollo", "date": "2026-11-16", "amount": "42.10", "category": "travel",
        "receipt": receipt}, format="multipart")  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["has_receipt"] is True
    assert response.json()["billable"] is True  # left out of the form: the default
    expense = Expense.objects.get()
    assert expense.receipt.name.endswith(".pdf") and expense.currency == "GBP"
    fake = SimpleUploadedFile("r.pdf", b"MZ not a pdf", content_type="application/pdf")
    refused = client.post("/api/v1/time/expenses/", {
        "project": "apollo", "date": "2026-11-16", "amount": "1.00", "category": "travel",
        "receipt": fake}, format="multipart")  # fmt: skip
    assert refused.status_code == 400 and "receipt" in refused.json()["error"]["fields"]
    assert Expense.objects.count() == 1


def test_approval_policies_are_for_finance_or_the_projects_manager(
    finance, project_manager, consultant, project
):
    other = ProjectFactory(code="other")
    client = as_user(project_manager)
    created = client.post(
        "/api/v1/time/approval-policies/",
        {"project": "apollo", "max_hours_per_day": "9.00"},
        format="json",
    )
    assert created.status_code == 201, created.content
    refused = client.post("/api/v1/time/approval-policies/", {"project": "other"}, format="json")
    assert refused.status_code == 404  # not a project of theirs
    ApprovalPolicyFactory(project=other)
    rows = client.get("/api/v1/time/approval-policies/").json()["results"]
    assert [r["project"] for r in rows] == ["apollo"]
    assert len(as_user(finance).get("/api/v1/time/approval-policies/").json()["results"]) == 2
    assert as_user(consultant).get("/api/v1/time/approval-policies/").status_code == 403
    pk = created.json()["id"]
    url = f"/api/v1/time/approval-policies/{pk}/"
    etag = client.get(url)["ETag"]
    assert (
        client.patch(url, {"enabled": False}, format="json", HTTP_IF_MATCH=etag).json()["enabled"]
        is False
    )
    assert client.delete(url, HTTP_IF_MATCH=etag).status_code == 412
    assert client.delete(url).status_code == 204
    assert not ApprovalPolicy.objects.filter(pk=pk).exists()

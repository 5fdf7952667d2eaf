"""The timesheet pages with the standing personas: the week grid, approvals, expenses."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from psa.kernel.models import AuditEvent
from tests.projects.factories import AssignmentFactory, ProjectFactory, TaskFactory
from tests.psa.factories import UserFactory
from tests.timesheets.factories import TimeEntryFactory
from timesheets.models import Expense, TimeEntry

pytestmark = pytest.mark.django_db

MON = dt.date(2026, 11, 16)
WEEK_URL = f"/time/{MON.isoformat()}/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def _png() -> bytes:
    """A real PNG: receipts are checked by content (Pillow), not by their first bytes."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (15, 118, 110)).save(out, format="PNG")
    return out.getvalue()


PNG = _png()


def post_cell(client, project, hours, day=MON, task=None, **extra):
    data = {"project": project.pk, "task": task.pk if task else "", "date": day.isoformat()}
    return client.post("/time/cell/", {**data, "hours": hours, **extra}, **HTMX)


def test_the_week_grid_shows_the_projects_and_the_week(client, consultant, project):
    TaskFactory(project=project, name="Design")
    TimeEntryFactory(person=consultant, project=project, date=MON, hours="7.5", note="Kick-off")
    client.force_login(consultant)
    page = client.get(WEEK_URL).content.decode()
    assert "Week of 16 Nov 2026" in page
    assert "APOLLO" in page and "Design" in page
    assert 'value="7.5"' in page
    assert 'id="week-total"' in page
    assert "js/timegrid.js" in page


def test_who_may_open_the_timesheet(client, outsider, finance, consultant):
    assert client.get("/time/").status_code == 302  # sign in first
    for user, status in [(outsider, 403), (finance, 403), (consultant, 200)]:
        client.force_login(user)
        assert client.get("/time/").status_code == status


def test_a_cell_saves_and_updates_the_totals_out_of_band(client, consultant, project):
    TimeEntryFactory(person=consultant, project=project, date=MON + dt.timedelta(1), hours="2")
    client.force_login(consultant)
    response = post_cell(client, project, "7.5", detail="1", note="Workshop", billable="on")
    assert response.status_code == 200
    body = response.content.decode()
    entry = TimeEntry.objects.get(date=MON)
    assert (entry.hours, entry.note, entry.billable) == (Decimal("7.5"), "Workshop", True)
    assert body.lstrip().startswith(f'<td id="cell-{project.pk}-0-20261116"')
    assert f'id="row-total-{project.pk}-0" class="num strong" hx-swap-oob="true">9.5<' in body
    assert 'id="day-total-20261116" class="num" hx-swap-oob="true">7.5<' in body
    assert 'id="week-total" class="num strong" hx-swap-oob="true">9.5<' in body
    # Non-billable through the popover: the checkbox is simply absent from the post.
    post_cell(client, project, "7.5", detail="1", note="Workshop")
    entry.refresh_from_db()
    assert entry.billable is False


def test_a_bad_cell_shows_the_message_in_place_and_saves_nothing(client, consultant, project):
    client.force_login(consultant)
    body = post_cell(client, project, "25").content.decode()
    assert 'aria-invalid="true"' in body
    assert "at most 24 hours" in body
    assert 'value="25"' in body  # what was typed stays, to be corrected
    assert not TimeEntry.objects.exists()


def test_cells_only_on_projects_open_to_the_person(client, consultant, project):
    client.force_login(consultant)
    assert post_cell(client, ProjectFactory(), "2").status_code == 404
    assert not TimeEntry.objects.exists()


def test_submit_and_copy_are_plain_forms(client, consultant, project):
    TimeEntryFactory(person=consultant, project=project, date=MON - dt.timedelta(7), hours="6")
    client.force_login(consultant)
    assert client.post(f"{WEEK_URL}copy/").status_code == 302
    assert TimeEntry.objects.filter(date=MON, status="draft").count() == 1
    response = client.post(f"{WEEK_URL}submit/", follow=True)
    assert "Week submitted: 1 entry." in response.content.decode()
    assert TimeEntry.objects.get(date=MON).status == "submitted"
    page = client.get(WEEK_URL).content.decode()
    assert "History of this week" in page and "submitted" in page


def test_rejected_time_shows_its_reason_and_is_editable(client, consultant, project):
    TimeEntryFactory(
        person=consultant,
        project=project,
        date=MON,
        status="rejected",
        rejection_reason="Wrong project, use the workshop task",
    )
    client.force_login(consultant)
    page = client.get(WEEK_URL).content.decode()
    assert "Sent back to you" in page
    assert "Wrong project, use the workshop task" in page
    assert post_cell(client, project, "4").status_code == 200
    assert TimeEntry.objects.get().hours == Decimal("4")


def test_the_week_grid_query_count_does_not_grow_with_entries(client, consultant, project):
    client.force_login(consultant)
    tasks = [TaskFactory(project=project) for _ in range(3)]

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(WEEK_URL).status_code == 200
        return len(ctx.captured_queries)

    TimeEntryFactory(person=consultant, project=project, task=tasks[0], date=MON)
    few = count()
    # A year of time before this week, and a full week of cells with history.
    TimeEntry.objects.bulk_create(
        TimeEntry(person=consultant, project=project, task=t, date=MON - dt.timedelta(d), hours=2)
        for t in tasks
        for d in range(1, 366)
    )
    TimeEntry.objects.bulk_create(
        TimeEntry(person=consultant, project=project, task=t, date=MON + dt.timedelta(d), hours=2)
        for t in tasks[1:]
        for d in range(7)
    )
    client.post(f"{WEEK_URL}submit/")
    assert count() == few


# --- approvals ---------------------------------------------------------------------------


@pytest.fixture
def submitted_week(consultant, project):
    for d in range(3):
        TimeEntryFactory(
            person=consultant,
            project=project,
            date=MON + dt.timedelta(d),
            hours="8",
            status="submitted",
        )
    return f"{consultant.pk}:{MON.isoformat()}"


def test_the_inbox_shows_a_manager_only_their_projects(
    client, project_manager, finance, consultant, outsider, submitted_week
):
    other_manager = UserFactory(roles=["project_manager"])
    elsewhere = ProjectFactory(manager=other_manager, code="zeus")
    AssignmentFactory(project=elsewhere, person=consultant)
    TimeEntryFactory(person=consultant, project=elsewhere, date=MON, status="submitted")

    client.force_login(project_manager)
    page = client.get("/time/approvals/").content.decode()
    assert "APOLLO" in page and "ZEUS" not in page
    assert "24 h" in page
    client.force_login(other_manager)
    page = client.get("/time/approvals/").content.decode()
    assert "ZEUS" in page and "APOLLO" not in page
    client.force_login(finance)
    page = client.get("/time/approvals/").content.decode()
    assert "ZEUS" in page and "APOLLO" in page
    for user in (consultant, outsider):
        client.force_login(user)
        assert client.get("/time/approvals/").status_code == 403


def test_bulk_approve(client, project_manager, consultant, submitted_week):
    second = UserFactory(roles=["consultant"])
    project = TimeEntry.objects.first().project
    AssignmentFactory(project=project, person=second)
    TimeEntryFactory(person=second, project=project, date=MON, status="submitted")
    client.force_login(project_manager)
    response = client.post(
        "/time/approvals/approve/",
        {"week": [submitted_week, f"{second.pk}:{MON.isoformat()}"]},
        follow=True,
    )
    assert "Approved 4 entries." in response.content.decode()
    assert set(TimeEntry.objects.values_list("status", flat=True)) == {"approved"}
    assert (
        AuditEvent.objects.filter(action="time_entry.approved", actor=project_manager).count() == 4
    )


def test_reject_one_day_with_a_reason(client, project_manager, consultant, submitted_week):
    client.force_login(project_manager)
    response = client.post(
        "/time/approvals/reject/",
        {"week": submitted_week, "day": (MON + dt.timedelta(1)).isoformat(), "reason": "Too much"},
        follow=True,
    )
    assert "Sent 1 entry back" in response.content.decode()
    rejected = TimeEntry.objects.get(status="rejected")
    assert (rejected.date, rejected.rejection_reason) == (MON + dt.timedelta(1), "Too much")
    assert TimeEntry.objects.filter(status="submitted").count() == 2
    event = AuditEvent.objects.get(action="time_entry.rejected")
    assert (event.actor, event.reason) == (project_manager, "Too much")


def test_reject_without_a_reason_is_refused(client, project_manager, submitted_week):
    client.force_login(project_manager)
    response = client.post("/time/approvals/reject/", {"week": submitted_week, "reason": " "})
    assert response.status_code == 302
    assert not TimeEntry.objects.filter(status="rejected").exists()


def test_a_manager_cannot_decide_on_people_outside_their_projects(client, project_manager):
    stranger = UserFactory(roles=["consultant"])
    TimeEntryFactory(person=stranger, date=MON, status="submitted")
    client.force_login(project_manager)
    response = client.post("/time/approvals/approve/", {"week": f"{stranger.pk}:{MON}"})
    assert response.status_code == 404
    assert TimeEntry.objects.get().status == "submitted"


# --- expenses ----------------------------------------------------------------------------


def test_an_expense_with_a_png_receipt(client, consultant, project):
    client.force_login(consultant)
    response = client.post(
        "/time/expenses/",
        {
            "project": project.pk,
            "date": "2026-11-17",
            "amount": "42.50",
            "currency": "",
            "category": "travel",
            "billable": "on",
            "markup_percent": "10",
            "receipt": SimpleUploadedFile("taxi.pdf", PNG, content_type="application/pdf"),
        },
        follow=True,
    )
    assert "Expense added." in response.content.decode()
    expense = Expense.objects.get()
    assert (expense.amount, expense.currency, expense.markup_percent) == (
        Decimal("42.50"),
        project.currency,
        Decimal("10"),
    )
    assert expense.receipt.name.endswith(".png")  # named by its content, not its claim


def test_a_receipt_that_is_not_what_it_claims_is_refused(client, consultant, project):
    client.force_login(consultant)
    response = client.post(
        "/time/expenses/",
        {
            "project": project.pk,
            "date": "2026-11-17",
            "amount": "10",
            "category": "meals",
            "receipt": SimpleUploadedFile("x.pdf", b"<html>hi</html>", "application/pdf"),
        },
    )
    assert response.status_code == 400
    assert "receipt" in response.content.decode()
    assert not Expense.objects.exists()


def test_outsiders_have_no_expense_page(client, outsider):
    client.force_login(outsider)
    assert client.get("/time/expenses/").status_code == 403


def test_the_inbox_says_why_the_policy_left_a_week(client, project_manager, submitted_week):
    from django.utils import timezone

    from tests.timesheets.factories import ApprovalPolicyFactory
    from timesheets.services import week_auto_approve

    consultant = TimeEntry.objects.first().person
    ApprovalPolicyFactory(project=TimeEntry.objects.first().project, max_hours_per_week=20)
    week_auto_approve(person=consultant, week_start=MON, now=timezone.now())
    client.force_login(project_manager)
    page = client.get("/time/approvals/").content.decode()
    assert "Approval policy:" in page
    assert "week: 24 h &gt; 20 h a week" in page
    assert "History (3)" in page
    assert "policy:auto-approve · policy_routed" in page


def test_rows_follow_recent_work_and_more_can_be_added(client, consultant, project):
    build = TaskFactory(project=project, name="Build")
    meetings = TaskFactory(project=project, name="Meetings")
    fresh = ProjectFactory(code="fresh", allow_all_users=True)
    TaskFactory(project=fresh, name="Discovery")
    TimeEntryFactory(person=consultant, project=project, task=build, date=MON - dt.timedelta(7))
    client.force_login(consultant)

    def rows(url):
        page = client.get(url).content.decode()
        return page.count(f'id="row-total-{project.pk}-'), page

    count, page = rows(WEEK_URL)
    assert count == 1  # Build, worked on last week; Meetings is offered instead
    assert f'<option value="{project.pk}-{meetings.pk}">APOLLO · Meetings</option>' in page
    assert "Discovery" in page and 'id="row-total-' + str(fresh.pk) in page  # a new project
    count, page = rows(f"{WEEK_URL}?row={project.pk}-{meetings.pk}&row=x")
    assert count == 2


def test_the_week_history_keeps_a_rejection_after_the_entry_is_removed(
    client, consultant, project_manager, project
):
    from timesheets.services import week_reject

    TimeEntryFactory(person=consultant, project=project, date=MON, status="submitted")
    week_reject(actor=project_manager, person=consultant, week_start=MON, reason="Wrong week")
    client.force_login(consultant)
    post_cell(client, project, "0")  # the fix: the time did not belong here
    assert not TimeEntry.objects.exists()
    page = client.get(WEEK_URL).content.decode()
    assert "Wrong week" in page
    assert "(removed)" in page
    assert "deleted" in page


def _claim(consultant, project, **kw):
    from timesheets.services import expense_create

    values = {"amount": "42.50", "currency": "GBP", "category": "travel", "description": "Taxi"}
    return expense_create(
        actor=consultant, person=consultant, project=project, date=MON, **(values | kw)
    )


def test_expenses_are_approved_or_rejected_by_the_projects_manager(
    client, consultant, project_manager, project
):
    taxi, hotel = _claim(consultant, project), _claim(consultant, project, description="Hotel")
    assert taxi.status == "submitted"
    other_manager = UserFactory(roles=["project_manager"])
    client.force_login(other_manager)
    assert "Taxi" not in client.get("/time/approvals/").content.decode()
    client.post("/time/approvals/expenses/", {"expense": [taxi.pk], "decision": "approve"})
    taxi.refresh_from_db()
    assert taxi.status == "submitted"  # not theirs to decide
    client.force_login(project_manager)
    page = client.get("/time/approvals/").content.decode()
    assert "Expenses awaiting approval" in page and "Taxi" in page
    client.post("/time/approvals/expenses/", {"expense": [taxi.pk], "decision": "approve"})
    refused = client.post(
        "/time/approvals/expenses/", {"expense": [hotel.pk], "decision": "reject"}, follow=True
    )
    assert "Say why the expense is rejected." in refused.content.decode()
    client.post(
        "/time/approvals/expenses/",
        {"expense": [hotel.pk], "decision": "reject", "reason": "Personal stay"},
    )
    taxi.refresh_from_db()
    hotel.refresh_from_db()
    assert (taxi.status, hotel.status) == ("approved", "rejected")
    assert AuditEvent.objects.get(action="expense.rejected").reason == "Personal stay"


def test_consultants_cannot_decide_on_expenses(client, consultant, project):
    taxi = _claim(consultant, project)
    client.force_login(consultant)
    response = client.post(
        "/time/approvals/expenses/", {"expense": [taxi.pk], "decision": "approve"}
    )
    assert response.status_code == 403
    taxi.refresh_from_db()
    assert taxi.status == "submitted"

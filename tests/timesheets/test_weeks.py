"""The consultant's week through the services: cells, the rules, copy, submit."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from psa.kernel.errors import Conflict, PermissionDenied, ValidationFailed
from psa.kernel.models import AuditEvent
from tests.projects.factories import ProjectFactory, TaskFactory
from tests.timesheets.factories import TimeEntryFactory
from timesheets.models import EntryStatus, TimeEntry
from timesheets.services import (
    hours_parse,
    time_entry_save,
    week_copy_previous,
    week_submit,
)

pytestmark = pytest.mark.django_db

MON = dt.date(2026, 11, 16)


def save(consultant, project, hours, day=MON, **kw):
    return time_entry_save(
        actor=consultant, person=consultant, project=project, date=day, hours=hours, **kw
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7.5", "7.50"), ("7,5", "7.50"), ("7:30", "7.50"), ("", "0"), (" 8 ", "8.00"), ("24", "24")],
)
def test_hours_are_read_as_people_type_them(text, expected):
    assert hours_parse(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["abc", "-1", "24.5", "7.555", "NaN", "Infinity", "7:75", "1e3"])
def test_bad_hours_name_the_field(text):
    with pytest.raises(ValidationFailed) as exc:
        hours_parse(text)
    assert "hours" in exc.value.fields


def test_a_cell_is_created_updated_and_deleted_at_zero(consultant, project):
    entry = save(consultant, project, "7.5", note="Design")
    assert (entry.hours, entry.note, entry.status) == (Decimal("7.5"), "Design", "draft")
    again = save(consultant, project, "6")
    assert again.pk == entry.pk
    assert again.hours == Decimal("6")
    assert again.note == "Design"  # a note not sent is kept
    assert save(consultant, project, "0") is None
    assert not TimeEntry.objects.exists()


def test_the_task_sets_the_billable_default(consultant, project):
    internal = TaskFactory(project=project, name="Internal", billable=False)
    entry = save(consultant, project, "2", task=internal)
    assert entry.billable is False
    assert entry.task == internal
    # The project row without a task is another cell of the same day.
    assert save(consultant, project, "3").pk != entry.pk


def test_a_task_of_another_project_is_refused(consultant, project):
    with pytest.raises(ValidationFailed) as exc:
        save(consultant, project, "2", task=TaskFactory())
    assert "task" in exc.value.fields


def test_a_day_holds_at_most_24_hours(consultant, project):
    other = ProjectFactory(allow_all_users=True)
    save(consultant, project, "20")
    with pytest.raises(ValidationFailed) as exc:
        save(consultant, other, "4.5")
    assert "hours" in exc.value.fields
    assert save(consultant, other, "4").hours == Decimal("4")
    # Raising an existing cell counts the rest of the day, not the cell itself twice.
    with pytest.raises(ValidationFailed):
        save(consultant, project, "20.5")
    assert save(consultant, project, "19").hours == Decimal("19")


def test_time_only_on_assigned_projects_unless_anyone_may(consultant, project):
    elsewhere = ProjectFactory()
    with pytest.raises(ValidationFailed) as exc:
        save(consultant, elsewhere, "2")
    assert "project" in exc.value.fields
    open_to_all = ProjectFactory(allow_all_users=True)
    assert save(consultant, open_to_all, "2").project == open_to_all


def test_no_time_on_a_closed_project(consultant, project):
    project.status = "completed"
    project.save()
    with pytest.raises(ValidationFailed) as exc:
        save(consultant, project, "2")
    assert "project" in exc.value.fields


def test_nobody_logs_time_for_someone_else(consultant, project_manager, project):
    with pytest.raises(PermissionDenied):
        time_entry_save(
            actor=project_manager, person=consultant, project=project, date=MON, hours="1"
        )


def test_an_outsider_cannot_log_even_where_anyone_may(outsider):
    with pytest.raises(ValidationFailed):
        save(outsider, ProjectFactory(allow_all_users=True), "1")


@pytest.mark.parametrize("status", [EntryStatus.SUBMITTED, EntryStatus.APPROVED])
def test_submitted_and_approved_entries_are_locked(consultant, project, status):
    TimeEntryFactory(person=consultant, project=project, date=MON, status=status)
    with pytest.raises(Conflict):
        save(consultant, project, "3")
    with pytest.raises(Conflict):
        save(consultant, project, "0")


def test_rejected_entries_are_editable_and_keep_their_reason(consultant, project):
    TimeEntryFactory(
        person=consultant,
        project=project,
        date=MON,
        status=EntryStatus.REJECTED,
        rejection_reason="Split by task please",
    )
    entry = save(consultant, project, "5")
    assert (entry.hours, entry.status, entry.rejection_reason) == (
        Decimal("5"),
        "rejected",
        "Split by task please",
    )


def test_submit_moves_drafts_and_rejected_entries_and_records_it(consultant, project):
    save(consultant, project, "8")
    TimeEntryFactory(
        person=consultant,
        project=project,
        date=MON + dt.timedelta(1),
        status="rejected",
        rejection_reason="x",
    )
    TimeEntryFactory(person=consultant, project=project, date=MON - dt.timedelta(1))  # last week
    assert week_submit(actor=consultant, person=consultant, week_start=MON) == 2
    week = TimeEntry.objects.filter(date__gte=MON)
    assert {(e.status, e.rejection_reason) for e in week} == {("submitted", "")}
    assert TimeEntry.objects.get(date=MON - dt.timedelta(1)).status == "draft"
    assert AuditEvent.objects.filter(action="time_entry.submitted", actor=consultant).count() == 2
    # Twice is harmless; an empty week is refused with a message.
    assert week_submit(actor=consultant, person=consultant, week_start=MON) == 0
    with pytest.raises(ValidationFailed) as exc:
        week_submit(actor=consultant, person=consultant, week_start=MON + dt.timedelta(7))
    assert "week" in exc.value.fields


def test_copy_last_week_fills_empty_cells_only(consultant, project):
    task = TaskFactory(project=project)
    last = MON - dt.timedelta(7)
    TimeEntryFactory(person=consultant, project=project, date=last, hours="6", note="A")
    TimeEntryFactory(person=consultant, project=project, task=task, date=last, hours="2")
    TimeEntryFactory(person=consultant, project=project, date=last + dt.timedelta(1), hours="8")
    TimeEntryFactory(
        person=consultant, project=ProjectFactory(), date=last, hours="1"
    )  # unassigned
    save(consultant, project, "3", day=MON + dt.timedelta(1))  # Tuesday already filled

    assert week_copy_previous(actor=consultant, person=consultant, week_start=MON) == 2
    copied = TimeEntry.objects.filter(date=MON).order_by("hours")
    assert [(e.task_id, e.hours, e.note, e.status) for e in copied] == [
        (task.pk, Decimal("2.00"), "Work", "draft"),
        (None, Decimal("6.00"), "A", "draft"),
    ]
    assert TimeEntry.objects.get(date=MON + dt.timedelta(1)).hours == Decimal("3")
    assert week_copy_previous(actor=consultant, person=consultant, week_start=MON) == 0


def test_the_database_refuses_a_second_row_for_one_cell(consultant, project):
    TimeEntryFactory(person=consultant, project=project, date=MON)
    with pytest.raises(IntegrityError), transaction.atomic():
        TimeEntryFactory(person=consultant, project=project, date=MON)


def test_billed_entries_are_frozen_even_for_raw_sql(consultant, project):
    entry = TimeEntryFactory(person=consultant, project=project, status="approved")
    other = TimeEntryFactory(person=consultant, project=project, date=MON + dt.timedelta(1))
    with connection.cursor() as cur:
        cur.execute("UPDATE timesheets_timeentry SET billed_at = now() WHERE id = %s", [entry.pk])
        for sql in (
            "UPDATE timesheets_timeentry SET hours = 1 WHERE id = %s",
            "UPDATE timesheets_timeentry SET billed_at = NULL WHERE id = %s",
            "DELETE FROM timesheets_timeentry WHERE id = %s",
        ):
            with pytest.raises(IntegrityError, match="is billed"), transaction.atomic():
                cur.execute(sql, [entry.pk])
        # The control: an unbilled row changes as usual.
        cur.execute("UPDATE timesheets_timeentry SET hours = 1 WHERE id = %s", [other.pk])
    entry.refresh_from_db()
    assert entry.hours == Decimal("8")
    with pytest.raises(Conflict):
        save(consultant, project, "2")

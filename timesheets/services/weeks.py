"""The consultant's week: save a cell, copy last week, submit the week."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Sum

from projects.models import Project, Task
from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.dates import date_require
from psa.kernel.etag import etag_require
from psa.kernel.webhooks import webhooks_emit
from timesheets.models import EntryStatus, TimeEntry
from timesheets.rules import can_log_time, week_tag
from timesheets.selectors import project_for_time

MAX_DAY = Decimal(24)
EDITABLE = (EntryStatus.DRAFT, EntryStatus.REJECTED)


def hours_parse(value: object) -> Decimal:
    """ "7.5", "7,5", "7:30" -> Decimal("7.50"); "" -> 0. ValidationFailed names ``hours``."""
    if isinstance(value, Decimal):
        number = value
    else:
        text = str(value if value is not None else "").strip().replace(",", ".")
        if not text:
            return Decimal(0)
        try:
            if ":" in text:
                h, m = text.split(":", 1)
                if not (h.isdigit() and m.isdigit()) or int(m) >= 60:
                    raise InvalidOperation
                number = Decimal(int(h)) + (Decimal(int(m)) / 60).quantize(Decimal("0.01"))
            else:
                number = Decimal(text)
        except InvalidOperation:
            raise errors.ValidationFailed(
                f"“{text}” is not a number of hours.", fields={"hours": "Enter hours like 7.5."}
            ) from None
    if not number.is_finite():
        raise errors.ValidationFailed("Hours must be a number.", fields={"hours": "Not a number."})
    if number < 0:
        raise errors.ValidationFailed(
            "Hours cannot be negative.", fields={"hours": "Must be 0 or more."}
        )
    if number > MAX_DAY:
        raise errors.ValidationFailed(
            "An entry holds at most 24 hours.", fields={"hours": "At most 24."}
        )
    if number != number.quantize(Decimal("0.01")):
        raise errors.ValidationFailed(
            "Hours have at most two decimals.", fields={"hours": "At most two decimals."}
        )
    return number.quantize(Decimal("0.01"))


def _lock_person(person: Any) -> None:
    # Every write to a person's time takes a lock on their user row first, so two tabs (or
    # two requests) cannot each see 20 h on a day and each add 4 more: the day total is read
    # and written under this lock.
    get_user_model().objects.select_for_update().filter(pk=person.pk).first()


def _require_self(actor: Any, person: Any) -> None:
    if actor.pk != person.pk:
        raise errors.PermissionDenied("You can only change your own time.")


def _etag_require_gone(expected: str | None) -> None:
    """412 when If-Match names a version (not ``*``) of a row that no longer exists."""
    header = (expected or "").strip()
    if header and header != "*":
        raise errors.PreconditionFailed(
            "The object changed since you read it; fetch it again and retry.",
            fields={"If-Match": "Does not match the current ETag."},
        )


def _day_total(person: Any, day: dt.date, *, excluding: int | None = None) -> Decimal:
    qs = TimeEntry.objects.filter(person=person, date=day)
    if excluding:
        qs = qs.exclude(pk=excluding)
    return qs.aggregate(total=Sum("hours"))["total"] or Decimal(0)


def _cell_check(*, project: Project, task: Task | None, note: str | None) -> None:
    if task is not None and task.project_id != project.pk:
        raise errors.ValidationFailed(
            "That task belongs to another project.", fields={"task": "Not on this project."}
        )
    if note is not None and len(note) > 2000:
        raise errors.ValidationFailed("The note is too long.", fields={"note": "At most 2000."})


def _cell_lock(
    *, person: Any, project: Project, task: Task | None, date: dt.date, expected_etag: str | None
) -> TimeEntry | None:
    """The cell's entry, locked (after its person: see ``_lock_person``), if it may change."""
    _lock_person(person)
    entry = (
        TimeEntry.objects.select_for_update()
        .filter(person=person, project=project, task=task, date=date)
        .first()
    )
    if entry is None:
        # If-Match named a version of an entry that is gone: that is a lost update too.
        _etag_require_gone(expected_etag)
    else:
        etag_require(entry, expected_etag)
    if entry is not None and (entry.billed_at or entry.status not in EDITABLE):
        raise errors.Conflict(
            f"This entry is {entry.get_status_display().lower()} and locked.",
            fields={"hours": "Locked."},
        )
    return entry


def _cell_clear(*, entry: TimeEntry | None, actor: Any) -> None:
    if entry is None:
        return
    if entry.status == EntryStatus.REJECTED:
        # The week's history keeps the rejection and how it was resolved.
        audit_record(
            action="time_entry.deleted",
            obj=entry,
            actor=actor,
            before={"status": entry.status, "hours": str(entry.hours)},
            after=week_tag(entry),
        )
    entry.delete()


def _cell_may_open(*, person: Any, project: Project, task: Task | None) -> None:
    if not can_log_time(person, project):
        raise errors.ValidationFailed(
            f"You cannot log time on {project.code.upper()}.",
            fields={"project": "Not open to you: not assigned, or the project is closed."},
        )
    if task is not None and not task.active:
        raise errors.ValidationFailed(
            "That task is closed.", fields={"task": "Closed for new time."}
        )


def _day_room_check(
    *, person: Any, date: dt.date, amount: Decimal, entry: TimeEntry | None
) -> None:
    day_total = _day_total(person, date, excluding=entry.pk if entry else None)
    if day_total + amount > MAX_DAY:
        raise errors.ValidationFailed(
            f"That makes {day_total + amount} h on {date:%a %d %b}; a day holds at most 24.",
            fields={"hours": f"At most {MAX_DAY - day_total} more on this day."},
        )


def _cell_write(
    *,
    entry: TimeEntry | None,
    person: Any,
    project: Project,
    task: Task | None,
    date: dt.date,
    amount: Decimal,
    note: str | None,
    billable: bool | None,
) -> TimeEntry:
    if entry is None:
        return TimeEntry.objects.create(
            person=person,
            project=project,
            task=task,
            date=date,
            hours=amount,
            note=note or "",
            billable=billable if billable is not None else (task.billable if task else True),
        )
    entry.hours = amount
    fields = ["hours", "updated_at"]
    if note is not None:
        entry.note = note
        fields.append("note")
    if billable is not None:
        entry.billable = billable
        fields.append("billable")
    entry.save(update_fields=fields)
    return entry


def time_entry_save(
    *,
    actor: Any,
    person: Any,
    project: Project,
    date: dt.date,
    hours: object,
    task: Task | None = None,
    note: str | None = None,
    billable: bool | None = None,
    expected_etag: str | None = None,
) -> TimeEntry | None:
    """Set one cell of the week grid: create, update, or delete it when hours are 0.

    Returns the entry, or None when the cell is now empty. Submitted and approved entries are
    locked; rejected ones are editable (they keep their reason until the week is resubmitted).
    ``expected_etag`` (If-Match) must name the cell's entry as it is now (412 otherwise).
    """
    _require_self(actor, person)
    date_require(date, "date", operational=True)
    amount = hours_parse(hours)
    _cell_check(project=project, task=task, note=note)
    with transaction.atomic():
        entry = _cell_lock(
            person=person, project=project, task=task, date=date, expected_etag=expected_etag
        )
        if amount == 0:
            _cell_clear(entry=entry, actor=actor)
            return None
        if entry is None:
            _cell_may_open(person=person, project=project, task=task)
        _day_room_check(person=person, date=date, amount=amount, entry=entry)
        return _cell_write(
            entry=entry, person=person, project=project, task=task, date=date,
            amount=amount, note=note, billable=billable,
        )  # fmt: skip


def time_cells_save(*, actor: Any, cells: list[dict[str, Any]]) -> list[TimeEntry]:
    """Set many cells of the actor's own time, all or nothing (each as ``time_entry_save``).

    A cell names its project by code and its task by id; an error names the cell
    (``Entry 2: …``, fields ``entries[1].hours``) and nothing is saved.
    """
    saved: list[TimeEntry] = []
    with transaction.atomic():
        for i, cell in enumerate(cells):
            try:
                entry = _cell_save(actor=actor, cell=cell)
            except errors.DomainError as exc:
                fields = {f"entries[{i}].{k}": m for k, m in exc.fields.items()}
                raise type(exc)(
                    f"Entry {i + 1}: {exc.message}", code=exc.code, fields=fields
                ) from exc
            if entry is not None:
                saved.append(entry)
    return saved


def _cell_save(*, actor: Any, cell: dict[str, Any]) -> TimeEntry | None:
    found = Project.objects.filter(code=cell["project"]).values_list("pk", flat=True).first()
    project = project_for_time(actor, found or 0)
    task = None
    if cell["task"] is not None:
        task = Task.objects.filter(pk=cell["task"], project=project).first()
        if task is None:
            raise errors.ValidationFailed(
                "No such task on this project.", fields={"task": "Not on this project."}
            )
    return time_entry_save(
        actor=actor, person=actor, project=project, task=task, date=cell["date"],
        hours=cell["hours"], note=cell.get("note"), billable=cell.get("billable"),
    )  # fmt: skip


def week_submit(*, actor: Any, person: Any, week_start: dt.date) -> int:
    """Submit the week: its draft and rejected entries go to approval. Returns how many."""
    _require_self(actor, person)
    date_require(week_start, "week", operational=True)
    end = week_start + dt.timedelta(days=6)
    with transaction.atomic():
        _lock_person(person)
        week = TimeEntry.objects.select_for_update().filter(
            person=person, date__gte=week_start, date__lte=end
        )
        entries = [e for e in week if e.status in EDITABLE]
        if not entries:
            if any(e.status == EntryStatus.SUBMITTED for e in week):
                return 0  # already submitted: nothing to do
            raise errors.ValidationFailed(
                "There is no time to submit this week.", fields={"week": "No open entries."}
            )
        for entry in entries:
            before = {"status": entry.status, "rejection_reason": entry.rejection_reason}
            entry.status = EntryStatus.SUBMITTED
            entry.rejection_reason = ""
            entry.save(update_fields=["status", "rejection_reason", "updated_at"])
            audit_record(
                action="time_entry.submitted",
                obj=entry,
                actor=actor,
                before=before,
                after={"status": entry.status, **week_tag(entry)},
            )
        webhooks_emit(
            event="timesheet.submitted",
            data={"person_id": person.pk, "week_start": week_start.isoformat(),
                  "entries": len(entries)},
        )  # fmt: skip
    return len(entries)


def week_copy_previous(*, actor: Any, person: Any, week_start: dt.date) -> int:
    """Copy last week's rows into this week's empty cells, as drafts. Returns how many.

    Cells already filled are left alone; closed projects or tasks, and days that would pass
    24 hours, are skipped.
    """
    _require_self(actor, person)
    prev_start = week_start - dt.timedelta(days=7)
    with transaction.atomic():
        _lock_person(person)
        previous = list(
            TimeEntry.objects.filter(
                person=person, date__gte=prev_start, date__lt=week_start
            ).select_related("project", "task")
        )
        current = TimeEntry.objects.filter(
            person=person, date__gte=week_start, date__lte=week_start + dt.timedelta(days=6)
        )
        taken = {(e.project_id, e.task_id, e.date) for e in current}
        day_totals: dict[dt.date, Decimal] = {}
        for e in current:
            day_totals[e.date] = day_totals.get(e.date, Decimal(0)) + e.hours
        allowed: dict[int, bool] = {}
        new = []
        for old in previous:
            day = old.date + dt.timedelta(days=7)
            if (old.project_id, old.task_id, day) in taken:
                continue
            if old.project_id not in allowed:
                allowed[old.project_id] = can_log_time(person, old.project)
            if not allowed[old.project_id] or (old.task and not old.task.active):
                continue
            if day_totals.get(day, Decimal(0)) + old.hours > MAX_DAY:
                continue
            day_totals[day] = day_totals.get(day, Decimal(0)) + old.hours
            new.append(
                TimeEntry(
                    person=person,
                    project_id=old.project_id,
                    task_id=old.task_id,
                    date=day,
                    hours=old.hours,
                    note=old.note,
                    billable=old.billable,
                )
            )
        TimeEntry.objects.bulk_create(new)
    return len(new)

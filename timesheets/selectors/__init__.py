"""Reads of time entries, aggregated in SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, TruncWeek

from projects.models import Assignment, Project, Task
from psa.kernel import errors
from psa.kernel.models import AuditEvent
from psa.kernel.roles import Role, has_role
from timesheets.models import ApprovalPolicy, EntryStatus, Expense, TimeEntry
from timesheets.selectors.policies import (  # noqa: F401 - re-exported
    ENTITY_DEFAULTS,
    EffectiveApproval,
    approval_policies_overview,
    approval_policy_resolve,
    legal_entity_by_code,
    person_first_week,
    weeks_awaiting_approval,
)

EDITABLE_STATUSES = (EntryStatus.DRAFT, EntryStatus.REJECTED)

ZERO_HOURS = Value(Decimal(0), output_field=DecimalField(max_digits=9, decimal_places=2))


def week_start(day: dt.date) -> dt.date:
    """The Monday of ``day``'s week."""
    return day - dt.timedelta(days=day.weekday())


def _sum_hours(**filters: Any) -> Coalesce:
    return Coalesce(Sum("hours", filter=Q(**filters) if filters else None), ZERO_HOURS)


def person_day_totals(*, person: Any, start: dt.date, days: int = 7) -> list[dict[str, Any]]:
    """Hours per day for ``days`` days from ``start`` (days without time show 0)."""
    end = start + dt.timedelta(days=days - 1)
    rows = dict(
        TimeEntry.objects.for_person(person)
        .in_period(start, end)
        .values("date")
        .annotate(total=Sum("hours"))
        .values_list("date", "total")
    )
    return [
        {"date": start + dt.timedelta(days=i), "hours": rows.get(start + dt.timedelta(days=i), 0)}
        for i in range(days)
    ]


def person_weekly_hours(*, person: Any, weeks: int, until: dt.date) -> list[dict[str, Any]]:
    """Per week (newest first): total hours and hours by status, for the last ``weeks`` weeks."""
    last_monday = week_start(until)
    first_monday = last_monday - dt.timedelta(weeks=weeks - 1)
    rows = (
        TimeEntry.objects.for_person(person)
        .in_period(first_monday, last_monday + dt.timedelta(days=6))
        .annotate(week=TruncWeek("date"))
        .values("week")
        .annotate(
            total=_sum_hours(),
            **{status: _sum_hours(status=status) for status in EntryStatus.values},
        )
    )
    by_week = {row["week"]: row for row in rows}
    out = []
    for i in range(weeks):
        monday = last_monday - dt.timedelta(weeks=i)
        row = by_week.get(monday, {})
        out.append(
            {
                "week": monday,
                "total": row.get("total", Decimal(0)),
                **{s: row.get(s, Decimal(0)) for s in EntryStatus.values},
            }
        )
    return out


def submitted_hours_on_projects(*, projects: Any) -> dict[str, Any]:
    """Hours awaiting approval on these projects, and how many people submitted them."""

    return TimeEntry.objects.filter(project__in=projects, status=EntryStatus.SUBMITTED).aggregate(
        hours=Coalesce(Sum("hours"), ZERO_HOURS), people=Count("person", distinct=True)
    )


# --- the week grid -------------------------------------------------------------------------


@dataclass
class Cell:
    date: dt.date
    entry: TimeEntry | None
    editable: bool
    row_key: str
    row_index: int = 0
    col_index: int = 0
    error: str = ""
    typed: str = ""

    @property
    def dom_id(self) -> str:
        return f"cell-{self.row_key}-{self.date:%Y%m%d}"


@dataclass
class Row:
    project: Project
    task: Task | None
    cells: list[Cell] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.project.pk}-{self.task.pk if self.task else 0}"

    @property
    def total(self) -> Decimal:
        return sum((c.entry.hours for c in self.cells if c.entry), Decimal(0))


@dataclass
class WeekGrid:
    person: Any
    week_start: dt.date
    days: list[dt.date]
    rows: list[Row]
    entries: list[TimeEntry]
    addable: list[dict[str, Any]] = field(default_factory=list)
    extra_rows: list[str] = field(default_factory=list)

    @property
    def day_totals(self) -> list[dict[str, Any]]:
        totals = {d: Decimal(0) for d in self.days}
        for e in self.entries:
            totals[e.date] += e.hours
        return [{"date": d, "hours": totals[d]} for d in self.days]

    @property
    def total(self) -> Decimal:
        return sum((e.hours for e in self.entries), Decimal(0))

    @property
    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(EntryStatus.values, 0)
        for e in self.entries:
            out[e.status] += 1
        return out

    @property
    def rejected(self) -> list[TimeEntry]:
        return [e for e in self.entries if e.status == EntryStatus.REJECTED]

    @property
    def can_submit(self) -> bool:
        return any(e.status in (EntryStatus.DRAFT, EntryStatus.REJECTED) for e in self.entries)

    def row(self, key: str) -> Row | None:
        return next((r for r in self.rows if r.key == key), None)


def projects_open_for_time(person: Any) -> QuerySet[Project]:
    """Open projects the person may log new time on: assigned, or open to anyone."""
    return (
        Project.objects.open()
        .filter(
            Q(pk__in=Assignment.objects.filter(person=person).values("project_id"))
            | Q(allow_all_users=True)
        )
        .select_related("customer")
    )


def project_for_time(person: Any, pk: object) -> Project:
    """A project the person may log on or has logged on (404 otherwise)."""
    try:
        pk = int(str(pk))
    except ValueError:
        raise errors.NotFound("No such project.") from None
    project = (
        Project.objects.filter(pk=pk)
        .filter(
            Q(pk__in=Assignment.objects.filter(person=person).values("project_id"))
            | Q(allow_all_users=True)
            | Q(pk__in=TimeEntry.objects.filter(person=person).values("project_id"))
        )
        .first()
    )
    if project is None:
        raise errors.NotFound("No such project.")
    return project


def row_key(project_id: int, task_id: int | None) -> str:
    return f"{project_id}-{task_id or 0}"


def week_grid(
    *, person: Any, week_start: dt.date, extra_rows: frozenset[str] = frozenset()
) -> WeekGrid:
    """The person's week as rows of project/task by day.

    Rows shown: those with time this week or last week, those asked for (``extra_rows``,
    keys "project-task"), and for an open project with neither, all its active tasks (or
    the project itself when it has none). The other open rows are offered in ``addable``.
    A fixed number of queries, whatever the number of entries.
    """
    days = [week_start + dt.timedelta(days=i) for i in range(7)]
    entries = list(
        TimeEntry.objects.for_person(person)
        .in_period(days[0], days[-1])
        .select_related("project", "task")
    )
    last_week = set(
        TimeEntry.objects.for_person(person)
        .in_period(days[0] - dt.timedelta(days=7), days[0] - dt.timedelta(days=1))
        .values_list("project_id", "task_id")
        .distinct()
    )
    can_log = has_role(person, Role.CONSULTANT, Role.PROJECT_MANAGER)
    projects = {p.pk: p for p in projects_open_for_time(person)} if can_log else {}
    tasks = Task.objects.filter(project_id__in=list(projects), active=True)
    open_rows: dict[tuple[int, int | None], tuple[Project, Task | None]] = {}
    with_tasks = set()
    for t in tasks:
        open_rows[(t.project_id, t.pk)] = (projects[t.project_id], t)
        with_tasks.add(t.project_id)
    for pk, p in projects.items():
        if pk not in with_tasks:
            open_rows[(pk, None)] = (p, None)

    rows: dict[tuple[int, int | None], tuple[Project, Task | None]] = {}
    by_cell: dict[tuple[int, int | None, dt.date], TimeEntry] = {}
    for e in entries:
        rows.setdefault((e.project_id, e.task_id), (e.project, e.task))
        by_cell[(e.project_id, e.task_id, e.date)] = e
    for key, value in open_rows.items():
        if key in last_week or row_key(*key) in extra_rows:
            rows.setdefault(key, value)
    shown_projects = {project_id for project_id, _ in rows}
    for key, value in open_rows.items():
        if key[0] not in shown_projects:
            rows[key] = value

    def order(kv: tuple[Any, tuple[Project, Task | None]]) -> tuple[str, str]:
        project, task = kv[1]
        return (project.code, task.name if task else "")

    out = []
    for i, ((project_id, task_id), (project, task)) in enumerate(sorted(rows.items(), key=order)):
        row = Row(project=project, task=task)
        for j, day in enumerate(days):
            entry = by_cell.get((project_id, task_id, day))
            if entry is None:
                editable = project_id in projects and (task is None or task.active)
            else:
                editable = entry.status in EDITABLE_STATUSES and entry.billed_at is None
            row.cells.append(Cell(day, entry, editable, row.key, i, j))
        out.append(row)
    addable = [
        {"key": row_key(*key), "project": p, "task": t}
        for key, (p, t) in sorted(open_rows.items(), key=order)
        if key not in rows
    ]
    return WeekGrid(
        person=person,
        week_start=week_start,
        days=days,
        rows=out,
        entries=entries,
        addable=addable,
        extra_rows=sorted(extra_rows),
    )


def week_history(
    entries: list[TimeEntry],
    *,
    person: Any = None,
    week_start: dt.date | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Audit events about these entries, newest first, each with its entry (one query).
    With ``person`` and ``week_start``, also events about the week's entries since deleted."""

    by_id = {str(e.pk): e for e in entries}
    about = Q(object_id__in=list(by_id))
    if person is not None and week_start is not None:
        about |= Q(after__person=person.pk, after__week=week_start.isoformat())
    events = AuditEvent.objects.filter(
        about, object_type=ContentType.objects.get_for_model(TimeEntry)
    ).select_related("actor")[:limit]
    return [{"event": ev, "entry": by_id.get(ev.object_id)} for ev in events]


# --- approvals -----------------------------------------------------------------------------


@dataclass
class PersonWeek:
    person: Any
    week_start: dt.date
    entries: list[TimeEntry] = field(default_factory=list)
    policy_notes: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.person.pk}:{self.week_start:%Y-%m-%d}"

    @property
    def total(self) -> Decimal:
        return sum((e.hours for e in self.entries), Decimal(0))

    @property
    def days(self) -> list[dict[str, Any]]:
        out = []
        for i in range(7):
            day = self.week_start + dt.timedelta(days=i)
            mine = [e for e in self.entries if e.date == day]
            out.append(
                {"date": day, "entries": mine, "hours": sum((e.hours for e in mine), Decimal(0))}
            )
        return out


def time_visible_to(user: Any) -> QuerySet[TimeEntry]:
    """A consultant sees their own time; a manager also the time on projects they manage;
    finance sees all; anyone else nothing."""
    qs = TimeEntry.objects.all()
    if has_role(user, Role.FINANCE):
        return qs
    own = Q(person=user)
    if has_role(user, Role.PROJECT_MANAGER):
        return qs.filter(own | Q(project__manager=user))
    if has_role(user, Role.CONSULTANT):
        return qs.filter(own)
    return qs.none()


def expenses_pending(*, approver: Any) -> QuerySet:
    """Submitted expenses the approver may decide on: finance all, a manager those on the
    projects they manage (not their own)."""

    qs = Expense.objects.filter(status=EntryStatus.SUBMITTED)
    if has_role(approver, Role.FINANCE):
        scoped = qs
    elif has_role(approver, Role.PROJECT_MANAGER):
        scoped = qs.filter(project__manager=approver)
    else:
        return qs.none()
    return (
        scoped.exclude(person=approver).select_related("person", "project").order_by("date", "id")
    )


def approvals_pending(*, approver: Any) -> list[PersonWeek]:
    """Submitted time the approver may decide on, grouped per person-week (oldest first).
    Your own time is left for someone else (unless settings.TIME_SELF_APPROVAL)."""
    qs = TimeEntry.objects.filter(status=EntryStatus.SUBMITTED)
    if not has_role(approver, Role.FINANCE):
        if not has_role(approver, Role.PROJECT_MANAGER):
            return []
        qs = qs.filter(project__manager=approver)
    if not settings.TIME_SELF_APPROVAL:
        qs = qs.exclude(person=approver)
    weeks: dict[tuple[int, dt.date], PersonWeek] = {}
    entries = list(qs.select_related("person", "project", "task").order_by("date", "project__code"))
    for e in entries:
        monday = week_start(e.date)
        pw = weeks.setdefault((e.person_id, monday), PersonWeek(e.person, monday))
        pw.entries.append(e)
    # Why the approval policy left a week to the manager, from the audit log (one query).
    by_entry = {str(e.pk): (e.person_id, week_start(e.date)) for e in entries}
    for item in week_history(entries, limit=500):
        event = item["event"]
        pw = weeks[by_entry[event.object_id]]
        pw.history.append(item)
        if event.action == "time_entry.policy_routed" and event.reason not in pw.policy_notes:
            pw.policy_notes.append(event.reason)
    return sorted(weeks.values(), key=lambda w: (w.week_start, str(w.person)))


def expense_visible_to(user: Any) -> QuerySet[Expense]:
    """As for time: your own expenses; a manager also those on their projects; finance all."""
    qs = Expense.objects.all()
    if has_role(user, Role.FINANCE):
        return qs
    own = Q(person=user)
    if has_role(user, Role.PROJECT_MANAGER):
        return qs.filter(own | Q(project__manager=user))
    if has_role(user, Role.CONSULTANT):
        return qs.filter(own)
    return qs.none()


def approval_policy_visible_to(user: Any) -> QuerySet[ApprovalPolicy]:
    """Finance sees every policy; a manager those of the projects they manage."""
    qs = ApprovalPolicy.objects.all()
    if has_role(user, Role.FINANCE):
        return qs
    if has_role(user, Role.PROJECT_MANAGER):
        return qs.filter(project__manager=user)
    return qs.none()

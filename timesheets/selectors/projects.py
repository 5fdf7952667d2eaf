"""Time on a project, read for the projects pages and API.

Projects sits below timesheets and must not import it, so these reads live here and reach
projects through ``projects.hooks.ProjectTime`` (registered in ``TimesheetsConfig.ready``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    CharField,
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, TruncWeek

from projects.models import Assignment, Project
from projects.selectors import entry_rate
from psa.kernel.models import AuditEvent
from timesheets.models import EntryStatus, TimeEntry

_ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=12, decimal_places=2))


def _hours_subquery(**filters: Any) -> Coalesce:
    total = (
        TimeEntry.objects.filter(project=OuterRef("pk"), **filters)
        .order_by()
        .values("project")
        .annotate(total=Sum("hours"))
        .values("total")
    )
    return Coalesce(Subquery(total, output_field=_ZERO.output_field), _ZERO)


def with_hours(projects: QuerySet[Project]) -> QuerySet[Project]:
    """Annotate logged and approved hours, one correlated sum each (safe with any filter)."""
    return projects.annotate(
        logged_hours=_hours_subquery(), approved_hours=_hours_subquery(status="approved")
    )


def project_figures(project: Project) -> dict[str, Any]:
    """Budget against actuals, in hours and money, aggregated in SQL (two queries).

    Money is each entry's hours times the rate resolved for its person and day (in SQL, see
    ``projects.selectors.entry_rate``); rejected time does not count. Unbilled: approved
    billable time not yet on an invoice.
    """
    money = DecimalField(max_digits=16, decimal_places=4)
    value = F("hours") * Coalesce(entry_rate(), Value(Decimal(0)), output_field=money)
    live = ~Q(status=EntryStatus.REJECTED)
    approved_unbilled = Q(status=EntryStatus.APPROVED, billable=True, billed_at__isnull=True)
    row = TimeEntry.objects.filter(project=project).aggregate(
        logged_hours=Coalesce(Sum("hours", filter=live), _ZERO),
        approved_hours=Coalesce(Sum("hours", filter=Q(status=EntryStatus.APPROVED)), _ZERO),
        billable_value=Coalesce(
            Sum(value, filter=live & Q(billable=True), output_field=money), _ZERO
        ),
        unbilled_value=Coalesce(Sum(value, filter=approved_unbilled, output_field=money), _ZERO),
    )
    # Hours with no rate in force are shown apart: they would be billed at nothing.
    row["unpriced_hours"] = (
        TimeEntry.objects.filter(project=project, billable=True)
        .exclude(status=EntryStatus.REJECTED)
        .annotate(rate=entry_rate())
        .filter(rate__isnull=True)
        .aggregate(h=Coalesce(Sum("hours"), _ZERO))["h"]
    )

    def pct(part: Decimal, whole: Decimal | None) -> int | None:
        return int(part * 100 / whole) if whole else None

    row["hours_used_pct"] = pct(row["logged_hours"], project.budget_hours)
    row["money_used_pct"] = pct(row["billable_value"], project.budget_amount)
    return row


def project_team(project: Project) -> list[Assignment]:
    """Assignments with each person's logged hours on the project (one query)."""
    logged = (
        TimeEntry.objects.filter(project=project, person=OuterRef("person_id"))
        .exclude(status=EntryStatus.REJECTED)
        .order_by()
        .values("person")
        .annotate(total=Sum("hours"))
        .values("total")
    )
    return list(
        project.assignments.select_related("person")
        .annotate(logged_hours=Coalesce(Subquery(logged, output_field=_ZERO.output_field), _ZERO))
        .order_by("person__first_name", "person__last_name")
    )


def _burn_weeks(project: Project) -> list[dict[str, Any]]:
    return list(
        TimeEntry.objects.filter(project=project)
        .exclude(status=EntryStatus.REJECTED)
        .annotate(week=TruncWeek("date"))
        .values("week")
        .annotate(hours=Sum("hours"))
        .order_by("week")
    )


def project_burn(
    project: Project, *, width: int = 640, height: int = 220, pad: int = 36
) -> dict[str, Any]:
    """Cumulative hours by week against the budget line, as SVG coordinates (drawn
    server-side by the template; no chart library)."""
    weekly = _burn_weeks(project)
    if not weekly:
        return {"points": [], "width": width, "height": height}
    first = weekly[0]["week"]
    last = weekly[-1]["week"]
    n_weeks = (last - first).days // 7 + 1
    by_week = {w["week"]: w["hours"] for w in weekly}
    cumulative, total, points = [], Decimal(0), []
    for i in range(n_weeks):
        week = first + dt.timedelta(weeks=i)
        total += by_week.get(week, Decimal(0))
        cumulative.append((week, total))
    budget = project.budget_hours
    top = max(total, budget or Decimal(0)) or Decimal(1)
    inner_w, inner_h = width - 2 * pad, height - 2 * pad

    def x(i: int) -> float:
        return round(pad + (inner_w * i / max(n_weeks - 1, 1)), 1)

    def y(v: Decimal) -> float:
        return round(pad + inner_h - float(v / top) * inner_h, 1)

    for i, (week, hours) in enumerate(cumulative):
        points.append({"x": x(i), "y": y(hours), "week": week, "hours": hours})
    return {
        "points": points,
        "path": " ".join(
            f"{'M' if i == 0 else 'L'}{p['x']},{p['y']}" for i, p in enumerate(points)
        ),
        "budget_y": y(budget) if budget else None,
        "budget": budget,
        "top": top,
        "width": width,
        "height": height,
        "pad": pad,
        "left": pad,
        "right": width - pad,
        "bottom": height - pad,
        "first": first,
        "last": last,
        "total": total,
        "over": bool(budget and total > budget),
    }


def project_activity(project: Project, *, limit: int = 12) -> list[Any]:
    """Recent audit events about the project and its time entries, newest first."""
    entry_ids = (
        TimeEntry.objects.filter(project=project)
        .annotate(sid=Cast("pk", CharField()))
        .values("sid")
    )
    return list(
        AuditEvent.objects.filter(
            Q(object_type=ContentType.objects.get_for_model(Project), object_id=str(project.pk))
            | Q(object_type=ContentType.objects.get_for_model(TimeEntry), object_id__in=entry_ids)
        ).select_related("actor")[:limit]
    )


class ProjectTimeFromEntries:
    """The projects hook ``ProjectTime``, answered from time entries."""

    with_hours = staticmethod(with_hours)
    figures = staticmethod(project_figures)
    team = staticmethod(project_team)
    burn = staticmethod(project_burn)
    activity = staticmethod(project_activity)

"""Reads of time entries, aggregated in SQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncWeek

from timesheets.models import EntryStatus, TimeEntry

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
    from django.db.models import Count

    return TimeEntry.objects.filter(project__in=projects, status=EntryStatus.SUBMITTED).aggregate(
        hours=Coalesce(Sum("hours"), ZERO_HOURS), people=Count("person", distinct=True)
    )

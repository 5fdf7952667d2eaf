"""Reads of projects, scoped to what the caller may see."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    DecimalField,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from projects.models import Assignment, Project, ProjectTemplate, RateCard, RateLevel
from psa.kernel import errors
from psa.kernel.roles import Role, has_role

_ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=12, decimal_places=2))


def project_list_visible_to(user: Any) -> QuerySet[Project]:
    """Finance and admins see every project; a manager the ones they manage; anyone else the
    ones they are assigned to."""
    qs = Project.objects.select_related("customer", "legal_entity", "manager")
    if has_role(user, Role.FINANCE):
        return qs
    # A subquery, not a join: a join would repeat each project once per assignment and
    # multiply any sum annotated later.
    assigned = Q(pk__in=Assignment.objects.filter(person=user).values("project_id"))
    if has_role(user, Role.PROJECT_MANAGER):
        return qs.filter(Q(manager=user) | assigned)
    return qs.filter(assigned)


def assigned_to(user: Any) -> QuerySet[Project]:
    """The projects ``user`` works on."""
    return project_list_visible_to(user).filter(
        pk__in=Assignment.objects.filter(person=user).values("project_id")
    )


def _hours_subquery(**filters: Any) -> Coalesce:
    from timesheets.models import TimeEntry

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


def project_get_for_user(user: Any, code: str) -> Project:
    """One project by code, if the caller may see it (404 otherwise, never a leak by 403)."""
    project = project_list_visible_to(user).filter(code=code).first()
    if project is None:
        raise errors.NotFound("No such project.")
    return project


# Most specific first; ties inside a level go to the line that started last.
_SPECIFICITY = Case(
    *(When(level=level, then=Value(i)) for i, level in enumerate(RateLevel.values)),
    output_field=IntegerField(),
)


def _rate_lines(
    *, project: Any, customer: Any, legal_entity: Any, person: Any, person_in_role: Any, on: Any
) -> QuerySet[RateCard]:
    """Rate lines in force on ``on`` that apply to this person on this project, best first.

    Arguments are values or OuterRefs, so the same rule serves ``rate_resolve`` and the
    per-entry SQL expression (``person_in_role`` is ``person`` one query level deeper).
    """
    role_matches = Exists(
        Assignment.objects.filter(
            project_id=OuterRef("project_id"), person_id=person_in_role, role=OuterRef("role")
        )
    )
    return (
        RateCard.objects.filter(
            Q(level=RateLevel.PERSON_ON_PROJECT, project_id=project, person_id=person)
            | (Q(level=RateLevel.ROLE_ON_PROJECT, project_id=project) & Q(role_matches))
            | Q(level=RateLevel.PROJECT, project_id=project)
            | Q(level=RateLevel.CUSTOMER, customer_id=customer)
            | Q(level=RateLevel.FIRM, legal_entity_id=legal_entity),
            Q(effective_to__isnull=True) | Q(effective_to__gte=on),
            effective_from__lte=on,
        )
        .annotate(specificity=_SPECIFICITY)
        .order_by("specificity", "-effective_from", "-id")
    )


def rate_resolve(*, project: Project, person: Any, on: dt.date) -> Decimal | None:
    """The hourly rate for ``person`` on ``project`` on day ``on``: person-on-project, then
    role-on-project (the person's Assignment.role), project default, customer, firm default.
    None when no level has a rate in force that day."""
    return (
        _rate_lines(
            project=project.pk,
            customer=project.customer_id,
            legal_entity=project.legal_entity_id,
            person=person.pk,
            person_in_role=person.pk,
            on=on,
        )
        .values_list("rate", flat=True)
        .first()
    )


def entry_rate() -> Subquery:
    """SQL expression: the resolved rate of a TimeEntry row (annotate or aggregate with it)."""
    lines = _rate_lines(
        project=OuterRef("project_id"),
        customer=OuterRef("project__customer_id"),
        legal_entity=OuterRef("project__legal_entity_id"),
        person=OuterRef("person_id"),
        person_in_role=OuterRef(OuterRef("person_id")),
        on=OuterRef("date"),
    )
    return Subquery(
        lines.values("rate")[:1], output_field=DecimalField(max_digits=10, decimal_places=2)
    )


def project_figures(project: Project) -> dict[str, Any]:
    """Budget against actuals, in hours and money, aggregated in SQL (two queries).

    Money is each entry's hours times the rate resolved for its person and day (in SQL, see
    ``entry_rate``); rejected time does not count. Unbilled: approved billable time not yet
    on an invoice.
    """
    from django.db.models import F

    from timesheets.models import EntryStatus, TimeEntry

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
    from timesheets.models import EntryStatus, TimeEntry

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


def project_burn(
    project: Project, *, width: int = 640, height: int = 220, pad: int = 36
) -> dict[str, Any]:
    """Cumulative hours by week against the budget line, as SVG coordinates (drawn
    server-side by the template; no chart library)."""
    from django.db.models.functions import TruncWeek

    from timesheets.models import EntryStatus, TimeEntry

    weekly = list(
        TimeEntry.objects.filter(project=project)
        .exclude(status=EntryStatus.REJECTED)
        .annotate(week=TruncWeek("date"))
        .values("week")
        .annotate(hours=Sum("hours"))
        .order_by("week")
    )
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
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import CharField
    from django.db.models.functions import Cast

    from psa.kernel.models import AuditEvent
    from timesheets.models import TimeEntry

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


def template_choices() -> QuerySet[ProjectTemplate]:
    """The templates a project may start from (crm's forms offer these, via crm.hooks)."""
    return ProjectTemplate.objects.filter(active=True)

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
    Value,
    When,
)

from projects import hooks
from projects.models import Assignment, Project, ProjectTemplate, RateCard, RateLevel
from psa.kernel import errors
from psa.kernel.roles import Role, has_role


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


def with_hours(projects: QuerySet[Project]) -> QuerySet[Project]:
    """Annotate logged and approved hours (time lives in timesheets: see ``hooks.ProjectTime``)."""
    return hooks.project_time().with_hours(projects)


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


# Time is logged in timesheets, a floor up: these ask the provider it registers.


def project_figures(project: Project) -> dict[str, Any]:
    """Budget against actuals, in hours and money (``hooks.ProjectTime.figures``)."""
    return hooks.project_time().figures(project)


def project_team(project: Project) -> list[Assignment]:
    """Assignments with each person's logged hours on the project."""
    return hooks.project_time().team(project)


def project_burn(
    project: Project, *, width: int = 640, height: int = 220, pad: int = 36
) -> dict[str, Any]:
    """Cumulative hours by week against the budget line, as SVG coordinates."""
    return hooks.project_time().burn(project, width=width, height=height, pad=pad)


def project_activity(project: Project, *, limit: int = 12) -> list[Any]:
    """Recent audit events about the project and its time entries, newest first."""
    return hooks.project_time().activity(project, limit=limit)


def template_choices() -> QuerySet[ProjectTemplate]:
    """The templates a project may start from (crm's forms offer these, via crm.hooks)."""
    return ProjectTemplate.objects.filter(active=True)

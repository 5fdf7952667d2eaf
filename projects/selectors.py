"""Reads of projects, scoped to what the caller may see."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from projects.models import Assignment, Project
from psa.roles import Role, has_role

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

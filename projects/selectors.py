"""Reads of projects, scoped to what the caller may see."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from projects.models import Project
from psa.roles import Role, has_role

_ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=12, decimal_places=2))


def project_list_visible_to(user: Any) -> QuerySet[Project]:
    """Finance and admins see every project; a manager the ones they manage; anyone else the
    ones they are assigned to."""
    qs = Project.objects.select_related("customer", "legal_entity", "manager")
    if has_role(user, Role.FINANCE):
        return qs
    if has_role(user, Role.PROJECT_MANAGER):
        return qs.filter(Q(manager=user) | Q(assignments__person=user)).distinct()
    return qs.filter(assignments__person=user)


def with_hours(projects: QuerySet[Project]) -> QuerySet[Project]:
    """Annotate logged and approved hours (one aggregate query, no N+1)."""
    return projects.annotate(
        logged_hours=Coalesce(Sum("time_entries__hours"), _ZERO),
        approved_hours=Coalesce(
            Sum("time_entries__hours", filter=Q(time_entries__status="approved")), _ZERO
        ),
    )

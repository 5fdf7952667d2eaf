"""The home dashboard: what each role needs to see first, from real data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db.models import Count, Q

from crm.models import Customer
from ledger.models import LegalEntity
from projects.models import ProjectStatus
from projects.selectors import assigned_to, project_list_visible_to, with_hours
from psa.kernel.ratelimit import CACHE_ERRORS
from psa.kernel.roles import Role, roles_of
from timesheets import selectors as time_selectors

HEARTBEAT_KEY = "worker-heartbeat"


def dashboard_for(user: Any, today: dt.date) -> dict[str, Any]:
    monday = time_selectors.week_start(today)
    # Sections follow the roles a person actually holds (not has_role(), for which an admin
    # holds every role): an admin who logs no time does not need an empty week.
    held = roles_of(user)
    context: dict[str, Any] = {"roles": held, "week_start": monday}
    if held & {Role.CONSULTANT, Role.PROJECT_MANAGER}:
        days = time_selectors.person_day_totals(person=user, start=monday)
        context["my_week"] = days
        context["my_week_total"] = sum(d["hours"] for d in days)
        context["my_weeks"] = time_selectors.person_weekly_hours(person=user, weeks=12, until=today)
        context["my_projects"] = list(assigned_to(user).open()[:20])
    if Role.PROJECT_MANAGER in held:
        managed = project_list_visible_to(user).filter(manager=user)
        context["managed_projects"] = list(with_hours(managed.open()).order_by("code"))
        context["awaiting_approval"] = time_selectors.submitted_hours_on_projects(projects=managed)
    if held & {Role.FINANCE, Role.ADMIN}:
        context["entities"] = list(
            LegalEntity.objects.annotate(
                customer_count=Count(
                    "customers", filter=Q(customers__is_active=True), distinct=True
                ),
                open_projects=Count(
                    "projects",
                    filter=Q(projects__status__in=[ProjectStatus.PLANNED, ProjectStatus.ACTIVE]),
                    distinct=True,
                ),
            ).order_by("name")
        )
        context["customer_total"] = Customer.objects.filter(is_active=True).count()
    if Role.ADMIN in held:
        counts = dict(
            Group.objects.filter(name__in=Role.values)
            .annotate(members=Count("user", filter=Q(user__is_active=True)))
            .values_list("name", "members")
        )
        context["role_counts"] = [
            {"label": role.label, "members": counts.get(role.value, 0)} for role in Role
        ]
        try:
            context["worker_heartbeat"] = cache.get(HEARTBEAT_KEY)
        except CACHE_ERRORS:  # cache down: "no heartbeat", not a 500
            context["worker_heartbeat"] = None
    return context

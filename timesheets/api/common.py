"""What the timesheets API modules share: who may call them, and projects by code."""

from __future__ import annotations

from typing import Any

from projects.models import Project
from psa.kernel.api import role_permission
from psa.kernel.roles import Role
from timesheets import selectors

Loggers = role_permission(Role.CONSULTANT, Role.PROJECT_MANAGER)
Readers = role_permission(Role.CONSULTANT, Role.PROJECT_MANAGER, Role.FINANCE)
Approvers = role_permission(Role.PROJECT_MANAGER, Role.FINANCE)


def project_for_time_by_code(user: Any, code: str) -> Project:
    """A project ``user`` may log on, by its code (404 unless open to them)."""
    found = Project.objects.filter(code=code).values_list("pk", flat=True).first()
    return selectors.project_for_time(user, found or 0)

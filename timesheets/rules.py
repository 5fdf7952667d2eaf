"""Who may log time where, and who may approve it: predicates shared by services and pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from projects.models import Assignment, Project, ProjectStatus
from psa.kernel.roles import Role, has_role

OPEN_STATUSES = (ProjectStatus.PLANNED, ProjectStatus.ACTIVE)


def can_log_time(person: Any, project: Project) -> bool:
    """Only on open projects, and only where assigned unless the project allows anyone."""
    if project.status not in OPEN_STATUSES:
        return False
    if not has_role(person, Role.CONSULTANT, Role.PROJECT_MANAGER):
        return False
    return (
        project.allow_all_users
        or Assignment.objects.filter(project=project, person=person).exists()
    )


def can_approve(user: Any, project: Project) -> bool:
    """Finance approves anywhere; a project manager on the projects they manage."""
    if has_role(user, Role.FINANCE):
        return True
    return has_role(user, Role.PROJECT_MANAGER) and project.manager_id == user.pk


def week_tag(entry: Any) -> dict[str, Any]:
    """Recorded with each audit event about an entry, so the week's history can still be
    found after the entry itself is deleted."""
    monday = entry.date - dt.timedelta(days=entry.date.weekday())
    return {"person": entry.person_id, "week": monday.isoformat()}

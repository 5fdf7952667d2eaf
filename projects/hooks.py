"""Hooks a higher floor fills, so projects can trigger (or show) what it must not import.

Reaching a milestone has consequences in billing (revenue an issued invoice deferred is
recognised now), but billing sits above projects. Billing registers its reaction here when
Django starts (``BillingConfig.ready``); ``milestone_reach`` calls every registered reaction
inside its own transaction, so the milestone and its postings commit or roll back together.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet


class MilestoneReached(Protocol):
    def __call__(self, *, milestone: Any, on: dt.date, actor: Any, actor_label: str) -> None: ...


_milestone_reached: dict[str, MilestoneReached] = {}


def on_milestone_reached(reaction: MilestoneReached) -> MilestoneReached:
    """Register ``reaction`` (once, however often the app registry starts)."""
    _milestone_reached[f"{reaction.__module__}.{reaction.__qualname__}"] = reaction
    return reaction


def milestone_reached_notify(*, milestone: Any, on: dt.date, actor: Any, actor_label: str) -> None:
    for reaction in list(_milestone_reached.values()):
        reaction(milestone=milestone, on=on, actor=actor, actor_label=actor_label)


# --- time on a project ---------------------------------------------------------------------
# Hours are logged in timesheets, one floor up. The projects pages and API show them through
# the one provider timesheets registers when Django starts (``TimesheetsConfig.ready``).


class ProjectTime(Protocol):
    def with_hours(self, projects: QuerySet[Any]) -> QuerySet[Any]:
        """``projects`` annotated with ``logged_hours`` and ``approved_hours``."""
        ...

    def figures(self, project: Any) -> dict[str, Any]:
        """Budget against actuals, in hours and money."""
        ...

    def team(self, project: Any) -> list[Any]:
        """Assignments, each with ``logged_hours``."""
        ...

    def burn(
        self, project: Any, *, width: int = 640, height: int = 220, pad: int = 36
    ) -> dict[str, Any]:
        """Cumulative hours by week against the budget, as SVG coordinates."""
        ...

    def activity(self, project: Any, *, limit: int = 12) -> list[Any]:
        """Recent audit events about the project and its time, newest first."""
        ...


_project_time: list[ProjectTime] = []


def project_time_provide(provider: ProjectTime) -> ProjectTime:
    """Register the provider of time figures (replacing any earlier one: there is one)."""
    _project_time[:] = [provider]
    return provider


def project_time() -> ProjectTime:
    if not _project_time:
        raise ImproperlyConfigured("No project time provider: is timesheets installed?")
    return _project_time[0]

"""Hooks a higher floor fills, so crm can reach what it must not import.

An opportunity is planned and won into a project, but projects sits above crm. Projects
registers what crm needs when Django starts (``ProjectsConfig.ready``):

- the project templates a salesperson may choose (forms and API serializers);
- setting the template an open opportunity's project will start from (its "plan");
- creating the won opportunity's project, inside ``opportunity_win``'s own transaction, so
  the customer, the project and the won opportunity commit or roll back together.

crm reads the results back through reverse relations (``opportunity.plan.template``,
``opportunity.project``), which needs no import.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet


class TemplateChoices(Protocol):
    def __call__(self) -> QuerySet[Any]: ...


class PlanSet(Protocol):
    def __call__(self, *, opportunity: Any, template: Any | None) -> None: ...


class ProjectStart(Protocol):
    def __call__(
        self,
        *,
        opportunity: Any,
        template: Any,
        customer: Any,
        code: str,
        name: str,
        start_date: dt.date,
        manager: Any,
        actor: Any,
    ) -> Any: ...


@dataclass(frozen=True)
class Delivery:
    """What the delivery floor (projects) does for crm."""

    templates: TemplateChoices
    plan_set: PlanSet
    project_start: ProjectStart


_delivery: dict[str, Delivery] = {}


def delivery_register(delivery: Delivery) -> Delivery:
    """Register the delivery floor (once, however often the app registry starts)."""
    _delivery["projects"] = delivery
    return delivery


def delivery() -> Delivery:
    """The registered delivery floor; configuration error when none is installed."""
    found = _delivery.get("projects")
    if found is None:
        raise ImproperlyConfigured("No delivery floor registered: is 'projects' installed?")
    return found

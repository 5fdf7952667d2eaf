"""Project templates: create one with its tasks, milestones and starting rates in one go."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from projects.models import (
    BillingModel,
    ProjectTemplate,
    TemplateMilestone,
    TemplateRate,
    TemplateTask,
)
from psa.kernel import errors
from psa.kernel.audit import audit_record


def _template_problems(
    *, code: str, name: str, tasks: list[dict], rates: list[dict], billing_model: str
) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not code:
        problems["code"] = "Required."
    elif ProjectTemplate.objects.filter(code=code).exists():
        problems["code"] = "A template with this code exists."
    if not name:
        problems["name"] = "Required."
    if billing_model not in BillingModel.values:
        problems["billing_model"] = "Not a billing model."
    seen: set[str] = set()
    for i, task in enumerate(tasks):
        key = task["name"].strip()
        if not key or key in seen:
            problems[f"tasks[{i}].name"] = "Required." if not key else "Named twice."
        seen.add(key)
    roles: set[str] = set()
    for i, rate in enumerate(rates):
        role = rate.get("role", "").strip()
        if role in roles:
            problems[f"rates[{i}].role"] = "One rate per role (empty: the default)."
        roles.add(role)
    return problems


def project_template_create(
    *,
    code: str,
    name: str,
    actor: Any,
    billing_model: str = BillingModel.TIME_AND_MATERIALS,
    budget_hours: Decimal | None = None,
    budget_amount: Decimal | None = None,
    duration_days: int | None = None,
    tasks: list[dict] | None = None,
    milestones: list[dict] | None = None,
    rates: list[dict] | None = None,
) -> ProjectTemplate:
    """A new active template. ``tasks``: ``{name, billable}``; ``milestones``: ``{name,
    amount, day_offset, service_item}``; ``rates``: ``{role, rate}`` (empty role: default)."""
    code, name = code.strip(), name.strip()
    tasks, milestones, rates = tasks or [], milestones or [], rates or []
    problems = _template_problems(
        code=code, name=name, tasks=tasks, rates=rates, billing_model=billing_model
    )
    if problems:
        raise errors.ValidationFailed("The template cannot be created.", fields=problems)
    with transaction.atomic():
        template = ProjectTemplate.objects.create(
            code=code, name=name, billing_model=billing_model, budget_hours=budget_hours,
            budget_amount=budget_amount, duration_days=duration_days,
        )  # fmt: skip
        TemplateTask.objects.bulk_create(
            TemplateTask(template=template, name=t["name"].strip(),
                         billable=t.get("billable", True))
            for t in tasks
        )  # fmt: skip
        TemplateMilestone.objects.bulk_create(
            TemplateMilestone(template=template, name=m["name"].strip(), amount=m["amount"],
                              day_offset=m["day_offset"], service_item=m.get("service_item"))
            for m in milestones
        )  # fmt: skip
        TemplateRate.objects.bulk_create(
            TemplateRate(template=template, role=r.get("role", "").strip(), rate=r["rate"])
            for r in rates
        )
        audit_record(action="project_template.created", obj=template, actor=actor,
                     after={"code": code, "name": name})  # fmt: skip
    return template

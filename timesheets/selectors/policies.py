"""Approval policies resolved rule by rule, and the weeks that wait for a person."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncWeek

from ledger.models import LegalEntity
from projects.models import Project
from psa.kernel import errors
from psa.kernel.models import AuditEvent
from timesheets.models import ApprovalPolicy, EntryStatus, TimeEntry

RULES = (
    "enabled",
    "max_hours_per_day",
    "max_hours_per_week",
    "within_capacity",
    "note_required",
    "project_must_be_active",
    "within_budget",
    "allow_weekends",
    "allow_holidays",
    "review_first_weeks",
)
# What an entity without a row of its own follows: the default a new entity is seeded with.
# Auto-approval everywhere the rules hold; the automation policy's "auto-approve" switch
# still decides whether the job acts at all.
ENTITY_DEFAULTS: dict[str, Any] = {
    "enabled": True,
    "max_hours_per_day": Decimal(10),
    "max_hours_per_week": None,
    "within_capacity": True,
    "note_required": False,
    "project_must_be_active": True,
    "within_budget": True,
    "allow_weekends": False,
    "allow_holidays": False,
    "review_first_weeks": 2,
}
# The limits where NULL on the entity's row means "no limit" rather than "inherit".
LIMITS = ("max_hours_per_day", "max_hours_per_week")


@dataclass(frozen=True)
class EffectiveApproval:
    """One project's approval rules, each with where it came from ("project", "customer",
    "entity" or "default")."""

    values: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)
    policy_ids: tuple[int, ...] = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("values", "sources", "policy_ids"):
            raise AttributeError(name)
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


def approval_policy_resolve(project: Project) -> EffectiveApproval:
    """The project's rules: its override, then its customer's, then its entity's policy (or the
    built-in default when the entity has none), rule by rule."""
    rows = ApprovalPolicy.objects.filter(
        Q(project=project)
        | Q(customer_id=project.customer_id)
        | Q(legal_entity_id=project.legal_entity_id)
    )
    scoped = {
        ("project" if p.project_id else "customer" if p.customer_id else "entity"): p for p in rows
    }
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name in RULES:
        for scope in ("project", "customer"):
            row = scoped.get(scope)
            if row is not None and getattr(row, name) is not None:
                values[name], sources[name] = getattr(row, name), scope
                break
        else:
            entity = scoped.get("entity")
            if entity is not None:
                values[name], sources[name] = getattr(entity, name), "entity"
            else:
                values[name], sources[name] = ENTITY_DEFAULTS[name], "default"
    return EffectiveApproval(values, sources, tuple(p.pk for p in scoped.values()))


def person_first_week(person: Any) -> dt.date | None:
    """The Monday of the first week the person logged time in (rejected time counts too: it
    was still their work)."""
    first = TimeEntry.objects.filter(person=person).aggregate(first=Min("date"))["first"]
    return None if first is None else first - dt.timedelta(days=first.weekday())


def weeks_awaiting_approval(*, now: dt.datetime, limit: int = 100) -> list[dict[str, Any]]:
    """Submitted time per person, week and project, with why it waits (the latest reason the
    auto-approval recorded, or that it has not decided yet) and how long it has waited."""
    rows = list(
        TimeEntry.objects.filter(status=EntryStatus.SUBMITTED)
        .annotate(week=TruncWeek("date"))
        .values(
            "person_id",
            "person__first_name",
            "person__last_name",
            "person__email",
            "week",
            "project_id",
            "project__code",
        )
        .annotate(
            hours=Sum("hours"),
            entries=Count("id"),
            since=Min("updated_at"),
            last_id=Max("id"),
        )
        .order_by("since", "person_id", "project__code")[:limit]
    )
    reasons = _routed_reasons([row["last_id"] for row in rows])
    for row in rows:
        row["week"] = row["week"].date() if hasattr(row["week"], "date") else row["week"]
        name = f"{row['person__first_name']} {row['person__last_name']}".strip()
        row["person"] = name or row["person__email"]
        row["reason"] = reasons.get(row["last_id"], "")
        row["age"] = now - row["since"]
        row["key"] = f"{row['person_id']}:{row['week']:%Y-%m-%d}"
    return rows


def _routed_reasons(entry_ids: list[int]) -> dict[int, str]:
    """The latest "left for the project manager" reason recorded on each entry."""
    events = (
        AuditEvent.objects.filter(
            object_type=ContentType.objects.get_for_model(TimeEntry),
            object_id__in=[str(pk) for pk in entry_ids],
            action="time_entry.policy_routed",
        )
        .order_by("object_id", "-created_at", "-id")
        .distinct("object_id")
        .values_list("object_id", "reason")
    )
    return {int(pk): reason for pk, reason in events}


def approval_policies_overview() -> dict[str, Any]:
    """Each legal entity with its default rules (saved, or the built-in default), and every
    override with the rules it states."""
    rows = ApprovalPolicy.objects.select_related("legal_entity", "customer", "project")
    saved = {p.legal_entity_id: p for p in rows if p.legal_entity_id}
    entities = []
    for entity in LegalEntity.objects.order_by("name"):
        policy = saved.get(entity.pk)
        values = (
            {name: getattr(policy, name) for name in RULES} if policy else dict(ENTITY_DEFAULTS)
        )
        entities.append({"entity": entity, "policy": policy, "values": values})
    overrides = [
        {
            "policy": p,
            "stated": [
                (ApprovalPolicy._meta.get_field(name).verbose_name.capitalize(), getattr(p, name))
                for name in RULES
                if getattr(p, name) is not None
            ],
        }
        for p in rows.order_by("id")
        if p.legal_entity_id is None
    ]
    return {"entities": entities, "overrides": overrides}


def legal_entity_by_code(code: str) -> LegalEntity:
    entity = LegalEntity.objects.filter(code=code).first()
    if entity is None:
        raise errors.NotFound("No such legal entity.", fields={"entity": "Not found."})
    return entity

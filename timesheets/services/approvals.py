"""Approving a submitted week: by the project manager (or finance), or by policy."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Q, Sum

from projects.models import Project, ProjectStatus
from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.models import AuditEvent
from psa.kernel.roles import Role, has_role
from psa.kernel.webhooks import webhooks_emit
from timesheets.models import EntryStatus, Holiday, TimeEntry
from timesheets.rules import can_approve, week_tag
from timesheets.selectors.policies import (
    EffectiveApproval,
    approval_policy_resolve,
    person_first_week,
)
from timesheets.services.accrual import time_approved_accrue

POLICY_ACTOR = "policy:auto-approve"


def _week(person: Any, week_start: dt.date) -> Q:
    return Q(person=person, date__gte=week_start, date__lte=week_start + dt.timedelta(days=6))


def _approvable(actor: Any, person: Any, week_start: dt.date, day: dt.date | None):
    if not has_role(actor, Role.PROJECT_MANAGER, Role.FINANCE):
        raise errors.PermissionDenied("Only project managers and finance approve time.")
    # Four eyes on every hour billed: finance and admins included. A one-person firm, where
    # nobody else could approve, turns this off with TIME_SELF_APPROVAL.
    if actor.pk == person.pk and not settings.TIME_SELF_APPROVAL:
        raise errors.PermissionDenied(
            "Your own time is approved by someone else.", fields={"person": "That is you."}
        )
    qs = TimeEntry.objects.filter(_week(person, week_start)).select_related("project")
    if day is not None:
        qs = qs.filter(date=day)
    if not has_role(actor, Role.FINANCE):
        qs = qs.filter(project__manager=actor)
    return qs


def week_approve(
    *, actor: Any, person: Any, week_start: dt.date, day: dt.date | None = None
) -> int:
    """Approve the person's submitted entries of the week on the projects ``actor`` may
    approve. Returns how many were approved now (0 when they already were)."""
    with transaction.atomic():
        entries = list(
            _approvable(actor, person, week_start, day)
            .select_for_update(of=("self",))
            .filter(status=EntryStatus.SUBMITTED)
        )
        for entry in entries:
            assert can_approve(actor, entry.project)
            entry.status = EntryStatus.APPROVED
            entry.save(update_fields=["status", "updated_at"])
            audit_record(
                action="time_entry.approved",
                obj=entry,
                actor=actor,
                before={"status": EntryStatus.SUBMITTED},
                after={"status": EntryStatus.APPROVED, **week_tag(entry)},
            )
        _approved(entries=[e.pk for e in entries], person=person, week_start=week_start,
                  actor=actor)  # fmt: skip
    return len(entries)


def _approved(*, entries: list[int], person: Any, week_start: dt.date, actor: Any = None,
              actor_label: str = "") -> None:  # fmt: skip
    """What approval sets in motion, in the same transaction: the WIP accrual in the books and
    the webhook for subscribers."""
    if not entries:
        return
    time_approved_accrue(entry_ids=entries, actor=actor, actor_label=actor_label)
    webhooks_emit(
        event="timesheet.approved",
        data={"person_id": person.pk, "week_start": week_start.isoformat(),
              "entries": len(entries), "by": actor_label or str(actor)},
    )  # fmt: skip


def week_reject(
    *,
    actor: Any,
    person: Any,
    week_start: dt.date,
    reason: str,
    day: dt.date | None = None,
) -> int:
    """Send the week (or one ``day`` of it) back to the person with ``reason``; the entries
    become editable again. Approved entries stay approved."""
    reason = (reason or "").strip()
    if not reason:
        raise errors.ValidationFailed(
            "Say why the time is rejected.", fields={"reason": "A reason is required."}
        )
    with transaction.atomic():
        scope = _approvable(actor, person, week_start, day).select_for_update(of=("self",))
        entries = [e for e in scope if e.status == EntryStatus.SUBMITTED]
        if not entries and not any(e.status == EntryStatus.REJECTED for e in scope):
            raise errors.Conflict(
                "There is no submitted time to reject here.", fields={"day": "Nothing submitted."}
            )
        for entry in entries:
            entry.status = EntryStatus.REJECTED
            entry.rejection_reason = reason
            entry.save(update_fields=["status", "rejection_reason", "updated_at"])
            audit_record(
                action="time_entry.rejected",
                obj=entry,
                actor=actor,
                before={"status": EntryStatus.SUBMITTED},
                after={"status": EntryStatus.REJECTED, **week_tag(entry)},
                reason=reason,
            )
        if entries:
            webhooks_emit(
                event="timesheet.rejected",
                data={"person_id": person.pk, "week_start": week_start.isoformat(),
                      "entries": len(entries), "reason": reason},
            )  # fmt: skip
    return len(entries)


@dataclass
class PolicyDecision:
    project: Project
    approved: bool
    reasons: list[str] = field(default_factory=list)
    entries: int = 0


def _fmt(hours: Decimal) -> str:
    text = f"{hours:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _days(days: Any) -> str:
    return ", ".join(f"{d:%a %d %b}" for d in sorted(days))


def _hour_failures(policy: EffectiveApproval, person: Any, week: list[TimeEntry]) -> list[str]:
    """The per-day and per-week limits, over the person's whole week on every project."""
    failures = []
    by_day: dict[dt.date, Decimal] = defaultdict(Decimal)
    for e in week:
        by_day[e.date] += e.hours
    if policy.max_hours_per_day is not None:
        for day, hours in sorted(by_day.items()):
            if hours > policy.max_hours_per_day:
                failures.append(
                    f"{day:%a %d %b}: {_fmt(hours)} h > {_fmt(policy.max_hours_per_day)} h a day"
                )
    total = sum(by_day.values(), Decimal(0))
    if policy.max_hours_per_week is not None and total > policy.max_hours_per_week:
        failures.append(f"week: {_fmt(total)} h > {_fmt(policy.max_hours_per_week)} h a week")
    capacity = person.weekly_capacity_hours
    if policy.within_capacity and total > capacity:
        failures.append(f"{_fmt(total)} h in the week > capacity {_fmt(capacity)} h")
    return failures


def _day_failures(policy: EffectiveApproval, project: Project, entries: list[TimeEntry]):
    failures = []
    missing = {
        e.date
        for e in entries
        if not e.note.strip() and (policy.note_required or (e.task and e.task.note_required))
    }
    if missing:
        failures.append("no note on " + _days(missing))
    if not policy.allow_weekends:
        weekend = {e.date for e in entries if e.date.weekday() >= 5}
        if weekend:
            failures.append("weekend time on " + _days(weekend))
    if not policy.allow_holidays:
        holidays = Holiday.objects.filter(
            legal_entity_id=project.legal_entity_id, date__in={e.date for e in entries}
        ).order_by("date")
        for h in holidays:
            failures.append(f"time on the holiday {h.name} ({h.date:%a %d %b})")
    return failures


def policy_failures(
    policy: EffectiveApproval,
    project: Project,
    entries: list[TimeEntry],
    week: list[TimeEntry],
    *,
    person: Any,
    week_start: dt.date,
) -> list[str]:
    """Every rule the project-week breaks, in words a manager reads, with the figures; empty
    when all hold.

    ``entries``: the submitted entries on this project; ``week``: the person's whole week
    (all projects, rejected entries left out) for the per-day and per-week limits.
    """
    failures = []
    if policy.project_must_be_active and project.status != ProjectStatus.ACTIVE:
        failures.append(f"project is {project.get_status_display().lower()}, not active")
    failures += _hour_failures(policy, person, week)
    failures += _day_failures(policy, project, entries)
    if policy.within_budget and project.budget_hours is not None:
        logged = TimeEntry.objects.filter(project=project).exclude(
            status=EntryStatus.REJECTED
        ).aggregate(total=Sum("hours"))["total"] or Decimal(0)
        if logged > project.budget_hours:
            failures.append(
                f"over budget: {_fmt(logged)} h logged of {_fmt(project.budget_hours)} h"
            )
    first = person_first_week(person)
    if policy.review_first_weeks and first is not None:
        nth = (week_start - first).days // 7 + 1
        if nth <= policy.review_first_weeks:
            failures.append(
                f"week {nth} of {person}'s first {policy.review_first_weeks} weeks: "
                "reviewed by a person"
            )
    return failures


def _claim(ids: list[int], now: Any) -> set[int]:
    """Move the entries still submitted to approved; return the ids this call moved.

    The conditional UPDATE ... WHERE status = 'submitted' RETURNING id is the claim: when two
    runs race, the row lock makes the second wait, and it then finds the rows approved and
    moves (and records) nothing.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TimeEntry._meta.db_table} SET status = %s, updated_at = %s "  # noqa: S608 - table name from the model
            "WHERE id = ANY(%s) AND status = %s RETURNING id",
            [EntryStatus.APPROVED, now, list(ids), EntryStatus.SUBMITTED],
        )
        return {row[0] for row in cursor.fetchall()}


def week_auto_approve(
    *,
    person: Any,
    week_start: dt.date,
    now: Any,
    automation_allows: Callable[[Project], bool] = lambda project: True,
) -> list[PolicyDecision]:
    """Apply each project's approval policy to the person's submitted week.

    ``automation_allows(project)`` is the firm's automation policy (psa.automation decides it
    and passes it in: timesheets sits below the automation layer and never imports it).

    Per project: when every rule holds the entries are approved by policy; otherwise they are
    left for the manager with the reasons recorded (the rule and its figures). The rules are
    the project's override, its customer's, then its entity's default policy, rule by rule.
    Safe to run twice or concurrently: approval is claimed with a conditional UPDATE
    (submitted → approved), so an entry is approved once, and only while still submitted.
    """
    week = list(
        TimeEntry.objects.filter(_week(person, week_start))
        .exclude(status=EntryStatus.REJECTED)
        .select_related("project", "task")
    )
    submitted: dict[int, list[TimeEntry]] = defaultdict(list)
    for e in week:
        if e.status == EntryStatus.SUBMITTED:
            submitted[e.project_id].append(e)
    decisions = []
    for entries in submitted.values():
        project = entries[0].project
        policy = approval_policy_resolve(project)
        if not automation_allows(project):
            failures = ["auto-approval is off in the automation policy"]
        elif not policy.enabled:
            failures = [f"the approval policy is off ({policy.sources['enabled']})"]
        else:
            failures = policy_failures(
                policy, project, entries, week, person=person, week_start=week_start
            )
        with transaction.atomic():
            if failures:
                _route(entries, failures, now)
                decisions.append(PolicyDecision(project, False, failures, len(entries)))
                continue
            claimed = _claim([e.pk for e in entries], now)
            reason = "Every rule of the approval policy holds."
            for e in entries:
                if e.pk in claimed:
                    audit_record(
                        action="time_entry.approved",
                        obj=e,
                        actor_label=POLICY_ACTOR,
                        before={"status": EntryStatus.SUBMITTED},
                        after={"status": EntryStatus.APPROVED,
                               "policy": list(policy.policy_ids), **week_tag(e)},
                        reason=reason,
                    )  # fmt: skip
            _approved(entries=sorted(claimed), person=person, week_start=week_start,
                      actor_label=POLICY_ACTOR)  # fmt: skip
            if claimed:
                decisions.append(PolicyDecision(project, True, [], len(claimed)))
    return decisions


def _route(entries: list[TimeEntry], failures: list[str], now: Any) -> None:
    """Record on each entry why it waits for the manager; a rerun with the same outcome adds
    nothing (the history says it once)."""
    reason = "Left for the project manager: " + "; ".join(failures) + "."
    noted = set(
        AuditEvent.objects.filter(
            object_type=ContentType.objects.get_for_model(TimeEntry),
            object_id__in=[str(e.pk) for e in entries],
            action="time_entry.policy_routed",
            reason=reason,
        ).values_list("object_id", flat=True)
    )
    for e in entries:
        if str(e.pk) not in noted:
            audit_record(
                action="time_entry.policy_routed",
                obj=e,
                actor_label=POLICY_ACTOR,
                reason=reason,
                after={"checked_at": now.isoformat(), **week_tag(e)},
            )

"""Approval policies: the rules under which a submitted week approves itself."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.etag import etag_require
from psa.kernel.roles import Role, has_role
from timesheets.models import ApprovalPolicy

POLICY_FIELDS = (
    "enabled",
    "max_hours_per_day",
    "max_hours_per_week",
    "note_required",
    "project_must_be_active",
    "within_budget",
    "allow_weekends",
    "allow_holidays",
)


def approval_policy_check(*, actor: Any, project: Any = None, customer: Any = None) -> None:
    """Finance and admins set any policy; a project manager only those of their projects."""
    if has_role(actor, Role.FINANCE):
        return
    if project is not None and project.manager_id == getattr(actor, "pk", None):
        return
    raise errors.PermissionDenied(
        "Only finance, or the project's manager for a project policy, sets approval policies."
    )


def _rules(changes: dict[str, Any]) -> None:
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise TypeError(f"Unknown policy fields: {sorted(unknown)}")
    problems = {
        name: "Must be positive."
        for name in ("max_hours_per_day", "max_hours_per_week")
        if changes.get(name) is not None and changes[name] <= 0
    }
    if problems:
        raise errors.ValidationFailed("Please correct the highlighted fields.", fields=problems)


def approval_policy_create(
    *, actor: Any, project: Any = None, customer: Any = None, **fields: Any
) -> ApprovalPolicy:
    """A policy for one project or one customer (a project's policy wins over its customer's)."""
    if (project is None) == (customer is None):
        raise errors.ValidationFailed(
            "A policy is for a project or for a customer.",
            fields={"project": "Give a project or a customer, not both."},
        )
    approval_policy_check(actor=actor, project=project, customer=customer)
    _rules(fields)
    try:
        with transaction.atomic():
            policy = ApprovalPolicy.objects.create(project=project, customer=customer, **fields)
            audit_record(action="approval_policy.created", obj=policy, actor=actor,
                         after={k: str(v) for k, v in fields.items()})  # fmt: skip
    except IntegrityError as exc:  # one policy per project / customer
        scope = "project" if project is not None else "customer"
        raise errors.ValidationFailed(
            f"That {scope} has a policy already; change it instead.",
            fields={scope: "Has a policy already."},
        ) from exc
    return policy


def approval_policy_update(
    *, actor: Any, policy: ApprovalPolicy, expected_etag: str | None = None, **changes: Any
) -> ApprovalPolicy:
    """Change a policy; ``expected_etag`` (If-Match) must name it as it is now (412)."""
    approval_policy_check(actor=actor, project=policy.project, customer=policy.customer)
    with transaction.atomic():
        row = ApprovalPolicy.objects.select_for_update().get(pk=policy.pk)
        etag_require(row, expected_etag)
        _rules(changes)
        before = {k: str(getattr(row, k)) for k in changes}
        for name, value in changes.items():
            setattr(row, name, value)
        row.save(update_fields=[*changes, "updated_at"])
        audit_record(action="approval_policy.updated", obj=row, actor=actor, before=before,
                     after={k: str(getattr(row, k)) for k in changes})  # fmt: skip
    return row


def approval_policy_delete(
    *, actor: Any, policy: ApprovalPolicy, expected_etag: str | None = None
) -> None:
    """Remove a policy: the weeks it covered go to their manager again.

    ``expected_etag`` (If-Match) must name it as it is now (412 otherwise)."""
    approval_policy_check(actor=actor, project=policy.project, customer=policy.customer)
    with transaction.atomic():
        locked = ApprovalPolicy.objects.select_for_update().filter(pk=policy.pk).first()
        if locked is not None:
            etag_require(locked, expected_etag)
        audit_record(action="approval_policy.deleted", obj=policy, actor=actor,
                     before={k: str(getattr(policy, k)) for k in POLICY_FIELDS})  # fmt: skip
        ApprovalPolicy.objects.filter(pk=policy.pk).delete()

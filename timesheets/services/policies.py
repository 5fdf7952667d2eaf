"""Approval policies: the rules under which a submitted week approves itself."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.etag import etag_require
from psa.kernel.roles import Role, has_role
from timesheets.models import ApprovalPolicy
from timesheets.selectors.policies import ENTITY_DEFAULTS, LIMITS, RULES

POLICY_FIELDS = RULES


def approval_policy_check(*, actor: Any, project: Any = None, customer: Any = None) -> None:
    """Finance and admins set any policy; a project manager only those of their projects.
    No actor: the system itself (the demo seed)."""
    if actor is None or has_role(actor, Role.FINANCE, Role.ADMIN):
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
    weeks = changes.get("review_first_weeks")
    if weeks is not None and not 0 <= weeks <= 52:
        problems["review_first_weeks"] = "From 0 to 52 weeks."
    if problems:
        raise errors.ValidationFailed("Please correct the highlighted fields.", fields=problems)


def approval_policy_create(
    *,
    actor: Any,
    project: Any = None,
    customer: Any = None,
    legal_entity: Any = None,
    **fields: Any,
) -> ApprovalPolicy:
    """A legal entity's default policy (every rule stated: what is not given is the built-in
    default), or a project's or customer's override (what is not given inherits)."""
    if [project, customer, legal_entity].count(None) != 2:
        raise errors.ValidationFailed(
            "A policy is for a legal entity, a customer or a project.",
            fields={"project": "Give one of a project, a customer or a legal entity."},
        )
    approval_policy_check(actor=actor, project=project, customer=customer)
    _rules(fields)
    if legal_entity is not None:
        fields = {**ENTITY_DEFAULTS, **fields}
    try:
        with transaction.atomic():
            policy = ApprovalPolicy.objects.create(
                project=project, customer=customer, legal_entity=legal_entity, **fields
            )
            audit_record(action="approval_policy.created", obj=policy, actor=actor,
                         after={k: str(v) for k, v in fields.items()})  # fmt: skip
    except IntegrityError as exc:  # one policy per project / customer
        scope = "project" if project else "customer" if customer else "legal_entity"
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
        if row.legal_entity_id is not None:
            missing = {
                k: "The legal entity's policy states every rule."
                for k, v in changes.items()
                if v is None and k not in LIMITS
            }
            if missing:
                raise errors.ValidationFailed(
                    "Please correct the highlighted fields.", fields=missing
                )
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
    if policy.legal_entity_id is not None:
        raise errors.Conflict(
            "The legal entity's policy can be changed, not removed.", code="illegal_transition"
        )
    with transaction.atomic():
        locked = ApprovalPolicy.objects.select_for_update().filter(pk=policy.pk).first()
        if locked is not None:
            etag_require(locked, expected_etag)
        audit_record(action="approval_policy.deleted", obj=policy, actor=actor,
                     before={k: str(getattr(policy, k)) for k in POLICY_FIELDS})  # fmt: skip
        ApprovalPolicy.objects.filter(pk=policy.pk).delete()


def approval_policy_set(
    *,
    actor: Any,
    legal_entity: Any = None,
    customer: Any = None,
    project: Any = None,
    **rules: Any,
) -> ApprovalPolicy:
    """Create or change the policy of one scope with every rule the page shows: the entity's
    default (complete), or a customer's or project's override (None inherits)."""
    approval_policy_check(actor=actor, project=project, customer=customer)
    scope = {"legal_entity": legal_entity, "customer": customer, "project": project}
    if list(scope.values()).count(None) != 2:
        raise errors.ValidationFailed(
            "A policy is for a legal entity, a customer or a project.",
            fields={"project": "Give one of a project, a customer or a legal entity."},
        )
    row = ApprovalPolicy.objects.filter(**scope).first()
    if row is None:
        # Two people saving a new scope at once: the unique constraints refuse the second
        # row, which comes back as "has a policy already" (a 400), never as a duplicate.
        return approval_policy_create(actor=actor, **scope, **rules)
    return approval_policy_update(actor=actor, policy=row, **rules)  # locks the row itself

"""Audit service: every state change a service makes is recorded with its actor and reason."""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from psa.kernel import correlation
from psa.kernel.models import AuditEvent


def audit_record(
    *,
    action: str,
    obj: models.Model | None = None,
    actor: Any = None,
    actor_label: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Write one audit event. ``actor`` is a user; automated jobs pass ``actor_label``."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if actor is None and not actor_label:
        actor_label = "system"
    return AuditEvent.objects.create(
        actor=actor,
        actor_label=actor_label,
        action=action,
        object_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        before=before,
        after=after,
        reason=reason,
        correlation_id=correlation.get(),
    )


def audit_history(obj: models.Model) -> models.QuerySet[AuditEvent]:
    """Events about one object, newest first."""
    return AuditEvent.objects.filter(
        object_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
    ).select_related("actor")

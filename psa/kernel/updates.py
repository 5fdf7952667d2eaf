"""One way to change fields of a model and audit what changed (HackSoft's ``model_update``).

Services call it on a row they locked in their own transaction:

    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        etag_require(customer, expected_etag)
        model_update(instance=customer, data=changes, actor=actor, action="customer.update",
                     check=_check_customer)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, TypeVar

from django.db import models

from psa.kernel.audit import audit_record

M = TypeVar("M", bound=models.Model)


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """Field values as the audit log stores them: decimals and dates as text."""
    out = {}
    for name in fields:
        value = getattr(obj, name)
        if isinstance(value, models.Model):
            value = value.pk
        out[name] = str(value) if isinstance(value, Decimal | dt.date) else value
    return out


def model_update(
    *,
    instance: M,
    data: dict[str, Any],
    action: str,
    actor: Any = None,
    actor_label: str = "",
    check: Callable[[M], None] | None = None,
    strip: bool = True,
    reason: str = "",
) -> tuple[M, dict[str, Any]]:
    """Set ``data`` on ``instance``, run ``check`` (may raise a domain error), save only those
    fields (and ``updated_at`` when the model has it), and audit the fields that changed.

    Returns the instance and ``{field: new value}`` of what changed (empty: nothing did, and
    nothing was audited). Call inside the service's transaction, on a locked row.
    """
    fields = list(data)
    before = snapshot(instance, fields)
    for name, value in data.items():
        setattr(instance, name, value.strip() if strip and isinstance(value, str) else value)
    if check is not None:
        check(instance)
    stamp = ["updated_at"] if any(f.name == "updated_at" for f in instance._meta.fields) else []
    instance.save(update_fields=[*fields, *stamp])
    after = snapshot(instance, fields)
    changed = {name: value for name, value in after.items() if before[name] != value}
    if changed:
        audit_record(
            action=action,
            obj=instance,
            actor=actor,
            actor_label=actor_label,
            before={name: before[name] for name in changed},
            after=changed,
            reason=reason,
        )
    return instance, changed

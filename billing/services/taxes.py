"""Tax rates of a legal entity: create and change them, one default per entity.

Making a rate the default takes the flag from the entity's previous default in the same
transaction (the entity's rates are locked first, so two callers cannot both win).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from billing.models import TaxRate
from ledger.models import LegalEntity
from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.etag import etag_require
from psa.kernel.updates import model_update

CHANGEABLE = {"name", "rate", "reverse_charge", "is_default", "is_active"}


def _rate_check(rate: Decimal) -> None:
    if not Decimal(0) <= rate < 1:
        raise errors.ValidationFailed(
            "A tax rate is a fraction from 0 to under 1 (0.2000 for 20 %).",
            fields={"rate": "From 0 to under 1."},
        )


def _name_check(name: str) -> str:
    name = str(name).strip()
    if not name:
        raise errors.ValidationFailed("Name the tax rate.", fields={"name": "Required."})
    return name


def _default_take(legal_entity_id: int, keep: int | None) -> None:
    """Lock the entity's rates and clear its current default (all but ``keep``)."""
    list(TaxRate.objects.select_for_update().filter(legal_entity_id=legal_entity_id))
    TaxRate.objects.filter(legal_entity_id=legal_entity_id, is_default=True).exclude(
        pk=keep
    ).update(is_default=False)


def tax_rate_create(
    *,
    legal_entity: LegalEntity,
    name: str,
    rate: Decimal,
    actor: Any,
    reverse_charge: bool = False,
    is_default: bool = False,
    is_active: bool = True,
) -> TaxRate:
    name = _name_check(name)
    _rate_check(rate)
    if is_default and not is_active:
        raise errors.ValidationFailed(
            "The default rate must be active.", fields={"is_default": "Only an active rate."}
        )
    with transaction.atomic():
        if is_default:
            _default_take(legal_entity.pk, keep=None)
        tax = TaxRate.objects.create(
            legal_entity=legal_entity, name=name, rate=rate, reverse_charge=reverse_charge,
            is_default=is_default, is_active=is_active,
        )  # fmt: skip
        audit_record(action="tax_rate.created", obj=tax, actor=actor,
                     after={"name": name, "rate": str(rate), "is_default": is_default})  # fmt: skip
    return tax


def tax_rate_change(
    *, tax_rate: TaxRate, actor: Any, expected_etag: str | None = None, **changes: Any
) -> TaxRate:
    """Change a rate's name, rate, reverse charge, default or active flags. Invoices already
    priced keep the rate they were priced with (their lines store it)."""
    unknown = set(changes) - CHANGEABLE
    if unknown:
        name = sorted(unknown)[0]
        raise errors.ValidationFailed(f"{name} cannot be changed.", fields={name: "Read-only."})
    if "name" in changes:
        changes["name"] = _name_check(changes["name"])
    if "rate" in changes:
        _rate_check(changes["rate"])
    with transaction.atomic():
        if changes.get("is_default"):
            _default_take(tax_rate.legal_entity_id, keep=tax_rate.pk)
        locked = TaxRate.objects.select_for_update().get(pk=tax_rate.pk)
        etag_require(locked, expected_etag)
        if (
            locked.is_default
            and changes.get("is_active") is False
            and (changes.get("is_default") is not False)
        ):
            raise errors.Conflict(
                "The default rate cannot be deactivated; make another rate the default first.",
                fields={"is_active": "This is the default rate."},
            )
        if changes.get("is_default") and changes.get("is_active", locked.is_active) is False:
            raise errors.ValidationFailed(
                "The default rate must be active.", fields={"is_default": "Only an active rate."}
            )
        model_update(instance=locked, data=changes, actor=actor, action="tax_rate.changed")
    return locked

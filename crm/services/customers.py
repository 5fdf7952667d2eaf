"""Customers: the companies a legal entity bills."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from crm.models import Customer
from crm.services._common import SALES_ROLES, validate
from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.etag import etag_require
from psa.kernel.roles import require_role
from psa.kernel.updates import model_update

CUSTOMER_FIELDS = [
    "name",
    "legal_name",
    "billing_address",
    "country",
    "currency",
    "payment_terms_days",
    "tax_id",
    "tax_treatment",
    "billing_email",
    "account_manager",
    "is_active",
]


def _check_customer(customer: Customer) -> None:
    if customer.country:
        customer.country = customer.country.strip().upper()
    if customer.currency:
        customer.currency = customer.currency.strip().upper()
    validate(customer, exclude=["legal_entity"])
    if customer.payment_terms_days > 365:
        raise errors.ValidationFailed(
            "Payment terms are too long.",
            fields={"payment_terms_days": "At most 365 days."},
        )
    twin = Customer.objects.filter(
        legal_entity=customer.legal_entity, name__iexact=customer.name
    ).exclude(pk=customer.pk)
    if twin.exists():
        raise errors.ValidationFailed(
            "A customer of that name exists.",
            fields={
                "name": f"{customer.legal_entity} already has a customer called {customer.name}."
            },
        )


def customer_create(
    *,
    actor: Any,
    legal_entity: Any,
    name: str,
    country: str,
    currency: str,
    _checked: bool = False,
    **fields: Any,
) -> Customer:
    """A new customer; ``fields`` are any of CUSTOMER_FIELDS."""
    if not _checked:
        require_role(actor, *SALES_ROLES)
    unknown = set(fields) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"Unknown customer fields: {sorted(unknown)}")
    customer = Customer(
        legal_entity=legal_entity, name=name.strip(), country=country, currency=currency, **fields
    )
    _check_customer(customer)
    with transaction.atomic():
        customer.save()
        audit_record(
            action="customer.create", obj=customer, actor=actor, after={"name": customer.name}
        )
    return customer


def customer_update(
    *, customer: Customer, actor: Any, expected_etag: str | None = None, **changes: Any
) -> Customer:
    """Change a customer's details (the legal entity that bills it does not change here).

    ``expected_etag``: the If-Match of an API client; 412 when the customer changed since.
    """
    require_role(actor, *SALES_ROLES)
    unknown = set(changes) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"Unknown customer fields: {sorted(unknown)}")
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        etag_require(customer, expected_etag)
        model_update(
            instance=customer,
            data=changes,
            actor=actor,
            action="customer.update",
            check=_check_customer,
        )
    return customer

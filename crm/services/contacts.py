"""Contacts: the people at a customer."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from crm.models import Contact, Customer
from crm.services._common import SALES_ROLES, validate
from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.etag import etag_require
from psa.kernel.roles import require_role
from psa.kernel.updates import model_update

CONTACT_FIELDS = ["name", "email", "phone", "title", "is_billing_contact"]


def contact_create(
    *,
    actor: Any,
    customer: Customer,
    name: str,
    email: str = "",
    phone: str = "",
    title: str = "",
    is_billing_contact: bool = False,
    _checked: bool = False,
) -> Contact:
    if not _checked:
        require_role(actor, *SALES_ROLES)
    contact = Contact(
        customer=customer,
        name=name.strip(),
        email=email.strip(),
        phone=phone.strip(),
        title=title.strip(),
        is_billing_contact=is_billing_contact,
    )
    validate(contact, exclude=["customer"])
    if email and customer.contacts.filter(email__iexact=contact.email).exists():
        raise errors.ValidationFailed(
            "That person is already a contact.",
            fields={"email": f"{customer} already has a contact with this e-mail."},
        )
    with transaction.atomic():
        contact.save()
        audit_record(
            action="contact.create", obj=contact, actor=actor, after={"customer": customer.pk}
        )
    return contact


def _check_contact(contact: Contact) -> None:
    validate(contact, exclude=["customer"])
    if (
        contact.email
        and Contact.objects.filter(customer_id=contact.customer_id, email__iexact=contact.email)
        .exclude(pk=contact.pk)
        .exists()
    ):
        raise errors.ValidationFailed(
            "That person is already a contact.",
            fields={"email": "Another contact of this customer has this e-mail."},
        )


def contact_update(
    *, contact: Contact, actor: Any, expected_etag: str | None = None, **changes: Any
) -> Contact:
    """Change a contact's details; the e-mail stays unique among the customer's contacts.

    ``expected_etag``: the If-Match of an API client; 412 when the contact changed since.
    """
    require_role(actor, *SALES_ROLES)
    unknown = set(changes) - set(CONTACT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown contact fields: {sorted(unknown)}")
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        etag_require(contact, expected_etag)
        model_update(
            instance=contact,
            data=changes,
            actor=actor,
            action="contact.update",
            check=_check_contact,
        )
    return contact

"""Leads: enquiries from the public web form, the API or typed in by hand.

Duplicates are recognised by e-mail and company domain so a repeat visitor or a new person
at an existing customer never becomes a twin. Managers move leads through the pipeline
(qualify, convert, disqualify).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from crm.models import (
    FREE_MAIL_DOMAINS,
    OPEN_LEAD_STATUSES,
    Contact,
    Customer,
    Lead,
    LeadSource,
    LeadStatus,
)
from crm.services._common import MAX_MESSAGE_LENGTH, SALES_ROLES, company_domain, validate
from crm.services.contacts import contact_create
from crm.services.customers import customer_create
from psa.kernel import clock, errors
from psa.kernel.audit import audit_record
from psa.kernel.locking import LockSpace, lock_keys
from psa.kernel.queue import enqueue_on_commit
from psa.kernel.roles import require_role
from psa.kernel.updates import snapshot
from psa.kernel.webhooks import webhooks_emit


@dataclass(frozen=True)
class LeadIntake:
    """What ``lead_create`` did: a new lead, or a repeat attached to an existing one."""

    lead: Lead
    created: bool
    # "" (nothing known), "lead" (same e-mail as an open lead), "contact" (same e-mail as a
    # customer's contact) or "domain" (same company domain as an existing customer).
    matched: str


def _customer_for_domain(legal_entity: Any, domain: str) -> Customer | None:
    if not domain or domain in FREE_MAIL_DOMAINS:
        return None
    suffix = f"@{domain}"
    with_contact = Contact.objects.filter(email__iendswith=suffix).values("customer_id")
    return (
        Customer.objects.filter(legal_entity=legal_entity, is_active=True)
        .filter(Q(billing_email__iendswith=suffix) | Q(pk__in=with_contact))
        .order_by("pk")
        .first()
    )


def lead_create(
    *,
    legal_entity: Any,
    name: str,
    email: str,
    source: str,
    company: str = "",
    phone: str = "",
    website: str = "",
    message: str = "",
    owner: Any = None,
    actor: Any = None,
) -> LeadIntake:
    """Record an enquiry; a repeat or a known customer attaches instead of making a twin.

    - the same e-mail as an open lead of this legal entity: that lead gets the new message
      (and any details it lacked) and counts one more submission;
    - the same e-mail as a customer's contact: a new lead linked to that customer and contact;
    - the same company domain as a customer's contacts or billing e-mail (free-mail domains
      such as gmail.com never match): a new lead linked to that customer.
    The owner (the customer's account manager if known, else ``owner``) is e-mailed after
    commit.
    """
    email = email.strip()
    lead = Lead(
        legal_entity=legal_entity,
        name=name.strip(),
        email=email,
        company=company.strip(),
        phone=phone.strip(),
        website=website.strip(),
        message=message.strip(),
        source=source,
        owner=owner,
    )
    _check_new_lead(lead)
    with transaction.atomic():
        _serialise_per_email(legal_entity, email)
        existing = _open_lead_with_email(legal_entity, email)
        if existing is not None:
            _lead_repeat(existing, lead, actor=actor)
            return LeadIntake(lead=existing, created=False, matched="lead")
        matched = _lead_match(lead)
        _lead_record(lead, actor=actor, matched=matched)
    return LeadIntake(lead=lead, created=True, matched=matched)


def _check_new_lead(lead: Lead) -> None:
    """Field validation of an enquiry before anything is locked; sets its company domain."""
    validate(lead, exclude=["legal_entity", "owner", "customer", "contact"])
    if lead.source not in LeadSource.values:
        raise errors.ValidationFailed("Unknown source.", fields={"source": "Unknown source."})
    if len(lead.message) > MAX_MESSAGE_LENGTH:
        raise errors.ValidationFailed(
            "The message is too long.",
            fields={"message": f"Please keep it under {MAX_MESSAGE_LENGTH} characters."},
        )
    domain = company_domain(email=lead.email, website=lead.website)
    # An e-mail address may be 254 characters, its domain longer than the column (200): no
    # real company domain is, so such a domain matches nothing and is not kept (it was a 500).
    lead.domain = domain if len(domain) <= Lead._meta.get_field("domain").max_length else ""


def _lead_repeat(existing: Lead, lead: Lead, *, actor: Any) -> None:
    """The same address again while its lead is open: the message and missing details join it."""
    before = snapshot(existing, ["submissions"])
    stamp = timezone.localtime(clock.now()).strftime("%Y-%m-%d %H:%M")
    if lead.message:
        joined = f"{existing.message}\n\n— {stamp} —\n{lead.message}".strip()
        existing.message = joined[-20000:]
    for field in ("phone", "company", "website", "domain"):
        if not getattr(existing, field) and getattr(lead, field):
            setattr(existing, field, getattr(lead, field))
    existing.submissions += 1
    existing.save(
        update_fields=[
            "message",
            "phone",
            "company",
            "website",
            "domain",
            "submissions",
            "updated_at",
        ]
    )
    audit_record(
        action="lead.repeat",
        obj=existing,
        actor=actor,
        actor_label="" if actor else f"lead:{lead.source}",
        before=before,
        after=snapshot(existing, ["submissions"]),
        reason="Same e-mail as an open lead.",
    )
    _notify_owner(existing, event="repeat")


def _lead_match(lead: Lead) -> str:
    """Link a new lead to the customer (and contact) it belongs to; how it matched ("": none).

    The customer's account manager owns the lead when there is one.
    """
    matched = ""
    contact = (
        Contact.objects.filter(customer__legal_entity=lead.legal_entity, email__iexact=lead.email)
        .select_related("customer")
        .order_by("pk")
        .first()
    )
    if contact is not None:
        lead.contact, lead.customer, matched = contact, contact.customer, "contact"
    else:
        customer = _customer_for_domain(lead.legal_entity, lead.domain)
        if customer is not None:
            lead.customer, matched = customer, "domain"
    if lead.customer is not None and lead.customer.account_manager_id:
        lead.owner = lead.customer.account_manager
    return matched


def _lead_record(lead: Lead, *, actor: Any, matched: str) -> None:
    """Save a new lead, audit it, and tell its owner and the webhooks (after commit)."""
    source = lead.source
    lead.save()
    audit_record(
        action="lead.create",
        obj=lead,
        actor=actor,
        actor_label="" if actor else f"lead:{source}",
        after={"status": lead.status, "source": source, "matched": matched},
        reason=f"Matches existing customer {lead.customer}." if lead.customer else "",
    )
    _notify_owner(lead, event="new")
    webhooks_emit(
        event="lead.created",
        data={"lead_id": lead.pk, "name": lead.name, "email": lead.email,
              "company": getattr(lead, "company", ""), "source": source,
              "customer_id": lead.customer_id},
    )  # fmt: skip


def _serialise_per_email(legal_entity: Any, email: str) -> None:
    """Two submissions from one address at the same moment must not both create a lead: the
    check for an open lead and the insert are serialised per (entity, e-mail) until commit.
    An advisory lock, because there is no row to lock yet when the address is new."""
    lock_keys(LockSpace.LEAD_EMAIL, f"{legal_entity.pk}:{email.lower()}")


def _open_lead_with_email(legal_entity: Any, email: str) -> Lead | None:
    return (
        Lead.objects.select_for_update()
        .filter(legal_entity=legal_entity, email__iexact=email, status__in=OPEN_LEAD_STATUSES)
        .order_by("created_at")
        .first()
    )


def _notify_owner(lead: Lead, *, event: str) -> None:
    if lead.owner_id is None:
        return
    # Imported here: crm.tasks calls back into these services (a cycle within crm).
    from crm.tasks import lead_notify_owner

    enqueue_on_commit(lead_notify_owner, lead.pk, event)


def locked_lead(lead: Lead) -> Lead:
    return Lead.objects.select_for_update().get(pk=lead.pk)


def lead_qualify(*, lead: Lead, actor: Any) -> Lead:
    require_role(actor, *SALES_ROLES)
    with transaction.atomic():
        lead = locked_lead(lead)
        if lead.status == LeadStatus.QUALIFIED:
            return lead
        if not lead.can_qualify():
            raise errors.Conflict(
                f"A {lead.get_status_display().lower()} lead cannot be qualified."
            )
        lead.status = LeadStatus.QUALIFIED
        lead.save(update_fields=["status", "updated_at"])
        audit_record(
            action="lead.qualify",
            obj=lead,
            actor=actor,
            before={"status": LeadStatus.NEW},
            after={"status": lead.status},
        )
    return lead


def lead_disqualify(*, lead: Lead, actor: Any, reason: str) -> Lead:
    require_role(actor, *SALES_ROLES)
    reason = reason.strip()
    if not reason:
        raise errors.ValidationFailed(
            "Say why the lead is disqualified.", fields={"reason": "A reason is required."}
        )
    with transaction.atomic():
        lead = locked_lead(lead)
        if lead.status == LeadStatus.DISQUALIFIED:
            return lead
        if not lead.can_disqualify():
            raise errors.Conflict(
                f"A {lead.get_status_display().lower()} lead cannot be disqualified."
            )
        before = lead.status
        lead.status = LeadStatus.DISQUALIFIED
        lead.disqualify_reason = reason[:500]
        lead.save(update_fields=["status", "disqualify_reason", "updated_at"])
        audit_record(
            action="lead.disqualify",
            obj=lead,
            actor=actor,
            before={"status": before},
            after={"status": lead.status},
            reason=lead.disqualify_reason,
        )
    return lead


def customer_from_lead(lead: Lead, *, actor: Any) -> tuple[Customer, Contact]:
    """The lead's customer and contact, created if they do not exist yet (inside a transaction)."""
    customer = lead.customer
    if customer is None:
        name = (lead.company or lead.name).strip()
        # A customer of that name already billed by this entity is the same company.
        customer = Customer.objects.filter(
            legal_entity=lead.legal_entity, name__iexact=name
        ).first()
    if customer is None:
        entity = lead.legal_entity
        customer = customer_create(
            actor=actor,
            legal_entity=entity,
            name=name,
            country=entity.country,
            currency=entity.functional_currency,
            billing_email=lead.email,
            account_manager=lead.owner,
            _checked=True,
        )
    contact = lead.contact
    if contact is None:
        contact = customer.contacts.filter(email__iexact=lead.email).first()
    if contact is None:
        contact = contact_create(
            actor=actor,
            customer=customer,
            name=lead.name,
            email=lead.email,
            phone=lead.phone,
            _checked=True,
        )
    return customer, contact


def lead_convert(*, lead: Lead, actor: Any) -> Lead:
    """Qualified (or new) lead -> customer + contact; the lead is then converted."""
    require_role(actor, *SALES_ROLES)
    with transaction.atomic():
        lead = locked_lead(lead)
        if lead.status == LeadStatus.CONVERTED:
            return lead
        if not lead.can_convert():
            raise errors.Conflict(
                f"A {lead.get_status_display().lower()} lead cannot be converted."
            )
        before = lead.status
        customer, contact = customer_from_lead(lead, actor=actor)
        lead.customer, lead.contact, lead.status = customer, contact, LeadStatus.CONVERTED
        lead.save(update_fields=["customer", "contact", "status", "updated_at"])
        audit_record(
            action="lead.convert",
            obj=lead,
            actor=actor,
            before={"status": before},
            after={"status": lead.status, "customer": customer.pk, "contact": contact.pk},
        )
    return lead

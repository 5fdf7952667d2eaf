"""Services of the crm app (see STYLE.md: writes, named <entity>_<action>).

Leads arrive from the public web form, the API or by hand (``lead_create``); duplicates are
recognised by e-mail and company domain so a repeat visitor or a new person at an existing
customer never becomes a twin. Managers move leads through the pipeline (qualify, convert,
disqualify); winning an opportunity creates the customer if needed and the project in one
transaction (``opportunity_win``).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from crm.models import (
    FREE_MAIL_DOMAINS,
    OPEN_LEAD_STATUSES,
    Contact,
    Customer,
    Lead,
    LeadFormKey,
    LeadSource,
    LeadStatus,
    Opportunity,
    OpportunityStage,
)
from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.queue import enqueue_on_commit
from psa.kernel.roles import Role, require_role
from psa.kernel.webhooks import webhooks_emit

SALES_ROLES = (Role.PROJECT_MANAGER, Role.FINANCE)
MAX_MESSAGE_LENGTH = 5000


# --- helpers ------------------------------------------------------------------------------


def _validate(obj: models.Model, *, exclude: list[str] | None = None) -> None:
    """Run the model's field validation; a failure names each field (ValidationFailed)."""
    try:
        obj.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        raise errors.ValidationFailed(
            "Please correct the highlighted fields.", fields=dict(exc.message_dict)
        ) from exc


def email_domain(email: str) -> str:
    """The domain of an address, lower case ("" if there is none)."""
    return email.rpartition("@")[2].strip().lower() if "@" in email else ""


def website_domain(website: str) -> str:
    """ "https://www.Acme.example/about" -> "acme.example"."""
    text = website.strip().lower()
    if not text:
        return ""
    try:
        host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
    except ValueError:  # e.g. an unbalanced "[" (an invalid IPv6 literal)
        return ""
    return host.removeprefix("www.")


def company_domain(*, email: str, website: str) -> str:
    """The company's own domain: the e-mail's unless it is a free-mail one, else the website's."""
    domain = email_domain(email)
    if domain and domain not in FREE_MAIL_DOMAINS:
        return domain
    domain = website_domain(website)
    return "" if domain in FREE_MAIL_DOMAINS else domain


def _snapshot(obj: models.Model, fields: list[str]) -> dict[str, Any]:
    out = {}
    for name in fields:
        value = getattr(obj, name)
        out[name] = str(value) if isinstance(value, Decimal | dt.date) else value
    return out


# --- lead form keys -----------------------------------------------------------------------


def lead_form_key_create(
    *,
    legal_entity: Any,
    name: str,
    owner: Any,
    allowed_origins: list[str] | None = None,
    is_default: bool = False,
    actor: Any = None,
) -> LeadFormKey:
    origins = [o.strip().rstrip("/") for o in (allowed_origins or []) if o.strip()]
    bad = [
        o
        for o in origins
        if urlsplit(o).scheme not in ("http", "https") or not urlsplit(o).hostname
    ]
    if bad:
        raise errors.ValidationFailed(
            "Origins must look like https://www.example.com.",
            fields={"allowed_origins": f"Not an origin: {', '.join(bad)}"},
        )
    with transaction.atomic():
        if is_default:
            LeadFormKey.objects.filter(is_default=True).update(is_default=False)
        form_key = LeadFormKey(
            legal_entity=legal_entity,
            name=name,
            owner=owner,
            # 32 random bytes = 256 bits, URL-safe: unguessable, and fine in a query string.
            key=secrets.token_urlsafe(32),
            allowed_origins=origins,
            is_default=is_default,
        )
        _validate(form_key)
        form_key.save()
        audit_record(action="lead_form_key.create", obj=form_key, actor=actor)
    return form_key


# --- leads --------------------------------------------------------------------------------


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
    _validate(lead, exclude=["legal_entity", "owner", "customer", "contact"])
    if source not in LeadSource.values:
        raise errors.ValidationFailed("Unknown source.", fields={"source": "Unknown source."})
    if len(lead.message) > MAX_MESSAGE_LENGTH:
        raise errors.ValidationFailed(
            "The message is too long.",
            fields={"message": f"Please keep it under {MAX_MESSAGE_LENGTH} characters."},
        )
    lead.domain = company_domain(email=email, website=lead.website)

    with transaction.atomic():
        _serialise_per_email(legal_entity, email)
        existing = _open_lead_with_email(legal_entity, email)
        if existing is not None:
            before = _snapshot(existing, ["submissions"])
            stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
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
                actor_label="" if actor else f"lead:{source}",
                before=before,
                after=_snapshot(existing, ["submissions"]),
                reason="Same e-mail as an open lead.",
            )
            _notify_owner(existing, event="repeat")
            return LeadIntake(lead=existing, created=False, matched="lead")

        matched = ""
        contact = (
            Contact.objects.filter(customer__legal_entity=legal_entity, email__iexact=email)
            .select_related("customer")
            .order_by("pk")
            .first()
        )
        if contact is not None:
            lead.contact, lead.customer, matched = contact, contact.customer, "contact"
        else:
            customer = _customer_for_domain(legal_entity, lead.domain)
            if customer is not None:
                lead.customer, matched = customer, "domain"
        if lead.customer is not None and lead.customer.account_manager_id:
            lead.owner = lead.customer.account_manager
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
    return LeadIntake(lead=lead, created=True, matched=matched)


def _serialise_per_email(legal_entity: Any, email: str) -> None:
    """Two submissions from one address at the same moment must not both create a lead: the
    check for an open lead and the insert are serialised per (entity, e-mail) until commit.
    An advisory lock, because there is no row to lock yet when the address is new."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            [f"crm.lead:{legal_entity.pk}:{email.lower()}"],
        )


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
    from crm.tasks import lead_notify_owner

    enqueue_on_commit(lead_notify_owner, lead.pk, event)


def _locked_lead(lead: Lead) -> Lead:
    return Lead.objects.select_for_update().get(pk=lead.pk)


def lead_qualify(*, lead: Lead, actor: Any) -> Lead:
    require_role(actor, *SALES_ROLES)
    with transaction.atomic():
        lead = _locked_lead(lead)
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
        lead = _locked_lead(lead)
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


def _customer_from_lead(lead: Lead, *, actor: Any) -> tuple[Customer, Contact]:
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
        lead = _locked_lead(lead)
        if lead.status == LeadStatus.CONVERTED:
            return lead
        if not lead.can_convert():
            raise errors.Conflict(
                f"A {lead.get_status_display().lower()} lead cannot be converted."
            )
        before = lead.status
        customer, contact = _customer_from_lead(lead, actor=actor)
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


# --- customers and contacts ---------------------------------------------------------------

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
    _validate(customer, exclude=["legal_entity"])
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


def customer_update(*, customer: Customer, actor: Any, **changes: Any) -> Customer:
    """Change a customer's details (the legal entity that bills it does not change here)."""
    require_role(actor, *SALES_ROLES)
    unknown = set(changes) - set(CUSTOMER_FIELDS)
    if unknown:
        raise TypeError(f"Unknown customer fields: {sorted(unknown)}")
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        before = _snapshot(customer, [f for f in changes if f != "account_manager"])
        for name, value in changes.items():
            setattr(customer, name, value.strip() if isinstance(value, str) else value)
        _check_customer(customer)
        customer.save(update_fields=[*changes, "updated_at"])
        after = _snapshot(customer, [f for f in changes if f != "account_manager"])
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        if changed or "account_manager" in changes:
            audit_record(
                action="customer.update",
                obj=customer,
                actor=actor,
                before={k: before[k] for k in changed},
                after=changed,
            )
    return customer


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
    _validate(contact, exclude=["customer"])
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


CONTACT_FIELDS = ["name", "email", "phone", "title", "is_billing_contact"]


def contact_update(*, contact: Contact, actor: Any, **changes: Any) -> Contact:
    """Change a contact's details; the e-mail stays unique among the customer's contacts."""
    require_role(actor, *SALES_ROLES)
    unknown = set(changes) - set(CONTACT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown contact fields: {sorted(unknown)}")
    with transaction.atomic():
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        before = {f: getattr(contact, f) for f in changes}
        for name, value in changes.items():
            setattr(contact, name, value.strip() if isinstance(value, str) else value)
        _validate(contact, exclude=["customer"])
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
        contact.save(update_fields=[*changes, "updated_at"])
        changed = {k: getattr(contact, k) for k in changes if before[k] != getattr(contact, k)}
        if changed:
            audit_record(
                action="contact.update", obj=contact, actor=actor,
                before={k: before[k] for k in changed}, after=changed,
            )  # fmt: skip
    return contact


# --- opportunities ------------------------------------------------------------------------

OPPORTUNITY_FIELDS = [
    "name",
    "stage",
    "value",
    "currency",
    "probability",
    "expected_close",
    "owner",
    "project_template",
]


def _check_opportunity(opp: Opportunity) -> None:
    if opp.currency:
        opp.currency = opp.currency.strip().upper()
    _validate(
        opp, exclude=["legal_entity", "customer", "lead", "project", "owner", "project_template"]
    )
    problems = {}
    if opp.value is not None and opp.value < 0:
        problems["value"] = "The value cannot be negative."
    if opp.probability is not None and opp.probability > 100:
        problems["probability"] = "A probability is between 0 and 100 %."
    if problems:
        raise errors.ValidationFailed("Please correct the highlighted fields.", fields=problems)


def opportunity_create(
    *,
    actor: Any,
    name: str,
    customer: Customer | None = None,
    lead: Lead | None = None,
    **fields: Any,
) -> Opportunity:
    require_role(actor, *SALES_ROLES)
    if customer is None and lead is None:
        raise errors.ValidationFailed(
            "An opportunity is for a customer or a lead.",
            fields={"customer": "Choose a customer (or create the opportunity from a lead)."},
        )
    unknown = set(fields) - set(OPPORTUNITY_FIELDS)
    if unknown:
        raise TypeError(f"Unknown opportunity fields: {sorted(unknown)}")
    entity = customer.legal_entity if customer else lead.legal_entity  # type: ignore[union-attr]
    fields.setdefault("currency", customer.currency if customer else entity.functional_currency)
    opp = Opportunity(
        legal_entity=entity,
        customer=customer,
        lead=lead,
        name=name.strip(),
        **fields,
    )
    _check_opportunity(opp)
    if opp.stage not in (s.value for s in OpportunityStage) or not opp.is_open:
        raise errors.ValidationFailed(
            "A new opportunity starts open.", fields={"stage": "Choose an open stage."}
        )
    with transaction.atomic():
        opp.save()
        audit_record(action="opportunity.create", obj=opp, actor=actor, after={"stage": opp.stage})
    return opp


def opportunity_update(*, opportunity: Opportunity, actor: Any, **changes: Any) -> Opportunity:
    """Edit an open opportunity; "won" only through ``opportunity_win``."""
    require_role(actor, *SALES_ROLES)
    unknown = set(changes) - set(OPPORTUNITY_FIELDS)
    if unknown:
        raise TypeError(f"Unknown opportunity fields: {sorted(unknown)}")
    if changes.get("stage") == OpportunityStage.WON:
        raise errors.ValidationFailed(
            "Use “Mark won” to win an opportunity.",
            fields={"stage": "Use “Mark won”: it creates the customer and the project."},
        )
    with transaction.atomic():
        opp = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
        if not opp.is_open:
            raise errors.Conflict(
                f"A {opp.get_stage_display().lower()} opportunity cannot be edited."
            )
        fields = [f for f in changes if f not in ("owner", "project_template")]
        before = _snapshot(opp, fields)
        for name, value in changes.items():
            setattr(opp, name, value.strip() if isinstance(value, str) else value)
        _check_opportunity(opp)
        opp.save(update_fields=[*changes, "updated_at"])
        after = _snapshot(opp, fields)
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        audit_record(
            action="opportunity.update",
            obj=opp,
            actor=actor,
            before={k: before[k] for k in changed},
            after=changed,
        )
    return opp


def opportunity_win(
    *,
    opportunity: Opportunity,
    actor: Any,
    template: Any,
    project_code: str,
    start_date: dt.date,
    manager: Any,
    project_name: str = "",
) -> Opportunity:
    """Won: the customer (created from the lead if needed) and the project from ``template``.

    One transaction: if the project cannot be created (a taken code, a bad template), no
    customer, contact or project is left behind and the opportunity stays open.
    """
    from projects.services import project_create_from_template

    require_role(actor, *SALES_ROLES)
    template = template or opportunity.project_template
    if template is None:
        raise errors.ValidationFailed(
            "Choose the project template.", fields={"template": "A template is required."}
        )
    if manager is None:
        raise errors.ValidationFailed(
            "Choose the project manager.", fields={"manager": "A manager is required."}
        )
    with transaction.atomic():
        opp = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
        if opp.stage == OpportunityStage.WON:
            return opp
        if not opp.can_win():
            raise errors.Conflict(f"A {opp.get_stage_display().lower()} opportunity cannot be won.")
        before = {"stage": opp.stage}
        customer = opp.customer
        if customer is None:
            lead = _locked_lead(opp.lead)  # type: ignore[arg-type]
            if lead.status == LeadStatus.DISQUALIFIED:
                raise errors.Conflict("The lead of this opportunity was disqualified.")
            customer, contact = _customer_from_lead(lead, actor=actor)
            if lead.status != LeadStatus.CONVERTED:
                lead_before = lead.status
                lead.customer, lead.contact, lead.status = customer, contact, LeadStatus.CONVERTED
                lead.save(update_fields=["customer", "contact", "status", "updated_at"])
                audit_record(
                    action="lead.convert",
                    obj=lead,
                    actor=actor,
                    before={"status": lead_before},
                    after={"status": lead.status, "customer": customer.pk},
                    reason=f"Opportunity {opp} won.",
                )
        project = project_create_from_template(
            template=template,
            customer=customer,
            code=project_code,
            name=project_name or opp.name,
            start_date=start_date,
            manager=manager,
            actor=actor,
        )
        opp.customer, opp.project = customer, project
        opp.stage, opp.probability, opp.won_at = OpportunityStage.WON, 100, timezone.now()
        opp.save(
            update_fields=["customer", "project", "stage", "probability", "won_at", "updated_at"]
        )
        audit_record(
            action="opportunity.win",
            obj=opp,
            actor=actor,
            before=before,
            after={"stage": opp.stage, "customer": customer.pk, "project": project.code},
        )
    return opp


def opportunity_lose(*, opportunity: Opportunity, actor: Any, reason: str) -> Opportunity:
    require_role(actor, *SALES_ROLES)
    reason = reason.strip()
    if not reason:
        raise errors.ValidationFailed(
            "Say why the opportunity was lost.", fields={"reason": "A reason is required."}
        )
    with transaction.atomic():
        opp = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
        if opp.stage == OpportunityStage.LOST:
            return opp
        if not opp.is_open:
            raise errors.Conflict(
                f"A {opp.get_stage_display().lower()} opportunity cannot be lost."
            )
        before = {"stage": opp.stage}
        opp.stage, opp.probability, opp.lost_reason = OpportunityStage.LOST, 0, reason[:500]
        opp.save(update_fields=["stage", "probability", "lost_reason", "updated_at"])
        audit_record(
            action="opportunity.lose",
            obj=opp,
            actor=actor,
            before=before,
            after={"stage": opp.stage},
            reason=opp.lost_reason,
        )
    return opp

"""Opportunities: deals we may win, for a customer or for a lead not yet a customer.

Winning one creates the customer if needed and the project in one transaction
(``opportunity_win``). The project and the template it starts from belong to the projects
floor above crm, reached through ``crm.hooks``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction

from crm.hooks import delivery
from crm.models import Customer, Lead, LeadStatus, Opportunity, OpportunityStage
from crm.services._common import SALES_ROLES, validate
from crm.services.leads import customer_from_lead, locked_lead
from psa.kernel import clock, errors
from psa.kernel.audit import audit_record
from psa.kernel.dates import date_require
from psa.kernel.etag import etag_require
from psa.kernel.roles import require_role
from psa.kernel.updates import model_update
from psa.kernel.validators import money_places_check

OPPORTUNITY_FIELDS = [
    "name",
    "stage",
    "value",
    "currency",
    "probability",
    "expected_close",
    "owner",
    # Not a column: projects' OpportunityPlan, set through crm.hooks.
    "project_template",
]


def _check_opportunity(opp: Opportunity) -> None:
    if opp.currency:
        opp.currency = opp.currency.strip().upper()
    validate(opp, exclude=["legal_entity", "customer", "lead", "owner"])
    problems = {}
    if opp.value is not None and opp.value < 0:
        problems["value"] = "The value cannot be negative."
    if opp.probability is not None and opp.probability > 100:
        problems["probability"] = "A probability is between 0 and 100 %."
    if problems:
        raise errors.ValidationFailed("Please correct the highlighted fields.", fields=problems)
    if opp.value and opp.currency:
        money_places_check(Decimal(opp.value), opp.currency, "value", label="The value")


def _check_fields(fields: dict[str, Any]) -> None:
    unknown = set(fields) - set(OPPORTUNITY_FIELDS)
    if unknown:
        raise TypeError(f"Unknown opportunity fields: {sorted(unknown)}")


def opportunity_planned_template(opportunity: Opportunity) -> Any | None:
    """The template chosen for the opportunity's project, or None."""
    # A reverse one-to-one: a missing plan raises an AttributeError subclass.
    plan = getattr(opportunity, "plan", None)
    return plan.template if plan is not None else None


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
    _check_fields(fields)
    template = fields.pop("project_template", None)
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
        if template is not None:
            delivery().plan_set(opportunity=opp, template=template)
        audit_record(action="opportunity.create", obj=opp, actor=actor, after={"stage": opp.stage})
    return opp


def opportunity_update(
    *,
    opportunity: Opportunity,
    actor: Any,
    expected_etag: str | None = None,
    **changes: Any,
) -> Opportunity:
    """Edit an open opportunity; "won" only through ``opportunity_win``.

    ``expected_etag``: the If-Match of an API client; 412 when the opportunity changed since.
    """
    require_role(actor, *SALES_ROLES)
    _check_fields(changes)
    if changes.get("stage") == OpportunityStage.WON:
        raise errors.ValidationFailed(
            "Use “Mark won” to win an opportunity.",
            fields={"stage": "Use “Mark won”: it creates the customer and the project."},
        )
    plan_changed = "project_template" in changes
    template = changes.pop("project_template", None)
    with transaction.atomic():
        opp = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
        etag_require(opp, expected_etag)
        if not opp.is_open:
            raise errors.Conflict(
                f"A {opp.get_stage_display().lower()} opportunity cannot be edited."
            )
        if plan_changed:
            delivery().plan_set(opportunity=opp, template=template)
        # Also with only a new template: saving moves updated_at, so the ETag changes.
        model_update(
            instance=opp,
            data=changes,
            actor=actor,
            action="opportunity.update",
            check=_check_opportunity,
        )
    return opp


def _win_customer(opp: Opportunity, *, actor: Any) -> Customer:
    """The won opportunity's customer: its own, or made from its lead (then converted)."""
    if opp.customer is not None:
        return opp.customer
    lead = locked_lead(opp.lead)  # type: ignore[arg-type]
    if lead.status == LeadStatus.DISQUALIFIED:
        raise errors.Conflict("The lead of this opportunity was disqualified.")
    customer, contact = customer_from_lead(lead, actor=actor)
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
    return customer


def opportunity_win(
    *,
    opportunity: Opportunity,
    actor: Any,
    project_code: str,
    start_date: dt.date,
    manager: Any,
    template: Any = None,
    project_name: str = "",
) -> Opportunity:
    """Won: the customer (created from the lead if needed) and the project from ``template``
    (default: the template planned on the opportunity).

    One transaction: if the project cannot be created (a taken code, a bad template), no
    customer, contact or project is left behind and the opportunity stays open.
    """
    require_role(actor, *SALES_ROLES)
    date_require(start_date, "start_date")
    template = template or opportunity_planned_template(opportunity)
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
        customer = _win_customer(opp, actor=actor)
        project = delivery().project_start(
            opportunity=opp,
            template=template,
            customer=customer,
            code=project_code,
            name=project_name or opp.name,
            start_date=start_date,
            manager=manager,
            actor=actor,
        )
        opp.customer = customer
        opp.stage, opp.probability, opp.won_at = OpportunityStage.WON, 100, clock.now()
        opp.save(update_fields=["customer", "stage", "probability", "won_at", "updated_at"])
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

"""Selectors of the crm app (see STYLE.md: reusable reads, scoped to the caller)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from crm.models import Contact, Customer, Lead, LeadFormKey, LeadStatus, Opportunity
from psa.kernel import errors
from psa.kernel.roles import Role, has_role

SALES_ROLES = (Role.PROJECT_MANAGER, Role.FINANCE)


def customer_list_visible_to(user: Any) -> QuerySet[Customer]:
    """Finance and admins: every customer. Project managers: the customers of their projects
    and those they are account manager of. Anyone else: none."""
    qs = Customer.objects.select_related("legal_entity", "account_manager")
    if has_role(user, Role.FINANCE):
        return qs
    if has_role(user, Role.PROJECT_MANAGER):
        # A subquery rather than a join, so a customer with many projects appears once.
        # ``projects`` is the reverse relation of projects.Project.customer (no import: crm
        # sits below projects).
        managed = Customer.objects.filter(projects__manager=user).values("pk")
        return qs.filter(Q(account_manager=user) | Q(pk__in=managed))
    return qs.none()


def customer_get_for_user(user: Any, pk: int) -> Customer:
    customer = customer_list_visible_to(user).filter(pk=pk).first()
    if customer is None:
        raise errors.NotFound("No such customer, or it is not one of yours.")
    return customer


def lead_list_visible_to(user: Any) -> QuerySet[Lead]:
    """Managers, finance and admins see the whole pipeline; nobody else sees any lead."""
    if not has_role(user, *SALES_ROLES):
        return Lead.objects.none()
    return Lead.objects.select_related("owner", "customer", "legal_entity")


def lead_get_for_user(user: Any, pk: int) -> Lead:
    lead = lead_list_visible_to(user).filter(pk=pk).first()
    if lead is None:
        raise errors.NotFound("No such lead.")
    return lead


def lead_pipeline(user: Any, *, closed_limit: int = 20) -> list[dict[str, Any]]:
    """Columns by status: every open lead; the most recent converted / disqualified ones."""
    leads = lead_list_visible_to(user)
    counts = dict(leads.values_list("status").annotate(n=Count("id")).order_by())
    columns = []
    for status in LeadStatus:
        qs = leads.filter(status=status).order_by("-created_at", "-id")
        if status in (LeadStatus.CONVERTED, LeadStatus.DISQUALIFIED):
            qs = qs[:closed_limit]
        columns.append(
            {
                "status": status.value,
                "label": status.label,
                "leads": list(qs),
                "count": counts.get(status.value, 0),
            }
        )
    return columns


def opportunity_list_visible_to(user: Any) -> QuerySet[Opportunity]:
    if not has_role(user, *SALES_ROLES):
        return Opportunity.objects.none()
    # "project" and "plan" are projects' rows pointing at the opportunity (reverse relations).
    return Opportunity.objects.select_related(
        "customer", "lead", "owner", "project", "plan__template", "legal_entity"
    )


def opportunity_get_for_user(user: Any, pk: int) -> Opportunity:
    opp = opportunity_list_visible_to(user).filter(pk=pk).first()
    if opp is None:
        raise errors.NotFound("No such opportunity.")
    return opp


def lead_form_key_active(key: str) -> LeadFormKey | None:
    """The active form configuration for a public key, or None."""
    if not key or len(key) > 64:
        return None
    return (
        LeadFormKey.objects.select_related("legal_entity", "owner")
        .filter(key=key, is_active=True)
        .first()
    )


def lead_form_key_default() -> LeadFormKey | None:
    """The configuration our own /leads/new/ page uses when no key is given."""
    return (
        LeadFormKey.objects.select_related("legal_entity", "owner")
        .filter(is_default=True, is_active=True)
        .first()
    )


def contact_get_for_user(user: Any, pk: int) -> Contact:
    """A contact of a customer the user may see (404 otherwise)."""
    contact = Contact.objects.select_related("customer").filter(pk=pk).first()
    if contact is None:
        raise errors.NotFound("No such contact.")
    customer_get_for_user(user, contact.customer_id)  # raises NotFound when not visible
    return contact


def customer_projects(customer: Customer) -> QuerySet[Any]:
    """The customer's projects (projects' rows, read through the reverse relation)."""
    return customer.projects.select_related("manager")  # type: ignore[attr-defined]

"""Automation policies: what the zero-touch jobs may do, resolved field by field from the
project's override, the customer's, then the legal entity's policy.

Defaults when an entity has no policy: what already has its own opt-in runs — time is
auto-approved where the approval policies hold (timesheets: the entity's default, overridden
per customer or project), a card is charged where the customer
consented to autopay, reminders go out where finance set up dunning levels — and billing,
issuing and sending wait for a person until finance switches them on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from psa.automation.models import AutomationPolicy, InvoicingCalendar
from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.etag import etag_require

SETTINGS = (
    "auto_approve",
    "release_milestones",
    "invoicing",
    "invoice_day",
    "auto_issue",
    "review_above",
    "auto_send",
    "autopay",
    "dunning",
)
DEFAULTS: dict[str, Any] = {
    "auto_approve": True,
    "release_milestones": False,
    "invoicing": InvoicingCalendar.MANUAL,
    "invoice_day": 1,
    "auto_issue": False,
    "review_above": None,
    "auto_send": False,
    "autopay": True,
    "dunning": True,
}
AUTOMATION = "automation"  # the actor label of every automated decision


@dataclass(frozen=True)
class Effective:
    """One resolved policy, with where each setting came from (for the audit reasons)."""

    values: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("values", "sources"):
            raise AttributeError(name)
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def why(self, name: str) -> str:
        return f"{name.replace('_', ' ')} is {_show(self.values[name])} ({self.sources[name]})"


def _show(value: Any) -> str:
    if value is True:
        return "on"
    if value is False:
        return "off"
    return "no limit" if value is None else str(value)


class PolicyBook:
    """Every policy of the given entities, loaded once; resolves projects and customers
    without further queries (jobs resolve thousands of items)."""

    def __init__(self, legal_entity_ids: list[int] | None = None) -> None:
        qs = AutomationPolicy.objects.select_related("customer", "project")
        if legal_entity_ids is not None:
            qs = qs.filter(legal_entity_id__in=legal_entity_ids)
        self.entities: dict[int, AutomationPolicy] = {}
        self.customers: dict[int, AutomationPolicy] = {}
        self.projects: dict[int, AutomationPolicy] = {}
        for row in qs:
            if row.project_id:
                self.projects[row.project_id] = row
            elif row.customer_id:
                self.customers[row.customer_id] = row
            else:
                self.entities[row.legal_entity_id] = row

    def resolve(
        self, *, legal_entity_id: int, customer_id: int | None = None, project_id: int | None = None
    ) -> Effective:
        layers = [
            (self.projects.get(project_id) if project_id else None, "project policy"),
            (self.customers.get(customer_id) if customer_id else None, "customer policy"),
            (self.entities.get(legal_entity_id), "legal entity policy"),
        ]
        values, sources = {}, {}
        for name in SETTINGS:
            for row, label in layers:
                if row is not None and getattr(row, name) is not None:
                    values[name], sources[name] = getattr(row, name), label
                    break
            else:
                entity_row = self.entities.get(legal_entity_id)
                if name == "review_above" and entity_row is not None:
                    values[name], sources[name] = None, "legal entity policy"
                else:
                    values[name], sources[name] = DEFAULTS[name], "default"
        return Effective(values, sources)

    def for_project(self, project: Any) -> Effective:
        return self.resolve(
            legal_entity_id=project.legal_entity_id,
            customer_id=project.customer_id,
            project_id=project.pk,
        )

    def for_invoice(self, invoice: Any) -> Effective:
        return self.resolve(
            legal_entity_id=invoice.legal_entity_id,
            customer_id=invoice.customer_id,
            project_id=invoice.project_id,
        )

    def for_customer(self, customer: Any) -> Effective:
        return self.resolve(legal_entity_id=customer.legal_entity_id, customer_id=customer.pk)


def invoicing_due(policy: Effective, today: dt.date) -> bool:
    """Whether a calendar run (monthly or weekly) falls on ``today``."""
    if policy.invoicing == InvoicingCalendar.MONTHLY:
        return today.day == (policy.invoice_day or 1)
    if policy.invoicing == InvoicingCalendar.WEEKLY:
        return today.weekday() == (policy.invoice_day or 0) % 7
    return False


# --- editing --------------------------------------------------------------------------------

_BOOLS = ("auto_approve", "release_milestones", "auto_issue", "auto_send", "autopay", "dunning")


def _parse(raw: dict[str, Any], *, complete: bool) -> dict[str, Any]:
    """Form or JSON values → settings. For an override, "" / None means inherit."""
    out: dict[str, Any] = {}
    fields: dict[str, str] = {}
    for name in _BOOLS:
        value = raw.get(name)
        if value in (None, "", "inherit"):
            out[name] = DEFAULTS[name] if complete else None
        else:
            out[name] = value in (True, "on", "true", "1", "yes")
    calendar = raw.get("invoicing") or None
    if calendar is not None and calendar not in InvoicingCalendar.values:
        fields["invoicing"] = "Manual, monthly, weekly or at project end."
    out["invoicing"] = calendar or (DEFAULTS["invoicing"] if complete else None)
    day = raw.get("invoice_day")
    if day in (None, ""):
        out["invoice_day"] = DEFAULTS["invoice_day"] if complete else None
    else:
        try:
            out["invoice_day"] = int(day)
        except (TypeError, ValueError):
            out["invoice_day"] = None
            fields["invoice_day"] = "A whole number."
        else:
            limit = 6 if out["invoicing"] == InvoicingCalendar.WEEKLY else 28
            low = 0 if out["invoicing"] == InvoicingCalendar.WEEKLY else 1
            if not low <= out["invoice_day"] <= limit:
                fields["invoice_day"] = f"From {low} to {limit}."
    review = raw.get("review_above")
    if review in (None, ""):
        out["review_above"] = None
    else:
        try:
            out["review_above"] = Decimal(str(review))
            if out["review_above"] < 0 or not out["review_above"].is_finite():
                raise InvalidOperation
            # The column keeps 3 decimals: a finer limit would be rounded without a word.
            if out["review_above"] != out["review_above"].quantize(Decimal("0.001")):
                raise InvalidOperation
        except InvalidOperation:
            fields["review_above"] = (
                "An amount of 0 or more with at most 3 decimals, or blank for no limit."
            )
    if fields:
        raise errors.ValidationFailed("Some settings are not valid.", fields=fields)
    return out


def automation_policy_set(
    *,
    legal_entity: Any,
    actor: Any,
    values: dict[str, Any],
    customer: Any = None,
    project: Any = None,
    expected_etag: str | None = None,
    create_only: bool = False,
) -> AutomationPolicy:
    """Create or change the entity's policy (complete) or a customer's or project's override
    (blank inherits). Audited with the before and after. ``expected_etag``: the If-Match of
    a change (412 when the policy changed since); ``create_only``: 409 when the policy of
    that scope exists already (the API's POST)."""
    if project is not None and project.legal_entity_id != legal_entity.pk:
        raise errors.ValidationFailed(
            "That project is billed by another legal entity.", fields={"project": "Other entity."}
        )
    if customer is not None and customer.legal_entity_id != legal_entity.pk:
        raise errors.ValidationFailed(
            "That customer is billed by another legal entity.",
            fields={"customer": "Other entity."},
        )
    complete = customer is None and project is None
    parsed = _parse(values, complete=complete)
    with transaction.atomic():
        row, created = AutomationPolicy.objects.select_for_update().get_or_create(
            legal_entity=legal_entity,
            customer=None if project is not None else customer,
            project=project,
            defaults=parsed if complete else {},
        )
        if create_only and not created:
            scope = "project" if project is not None else "customer" if customer else "legal_entity"
            raise errors.Conflict(
                f"This {scope.replace('_', ' ')} has a policy already; change it instead.",
                fields={scope: f"Has policy {row.pk}."},
            )
        etag_require(row, expected_etag)
        before = {name: getattr(row, name) for name in SETTINGS}
        for name, value in parsed.items():
            setattr(row, name, value)
        row.save()
        audit_record(
            action="automation_policy.changed",
            obj=row,
            actor=actor,
            before=before,
            after={name: getattr(row, name) for name in SETTINGS},
        )
    return row


def automation_policy_delete(*, policy: AutomationPolicy, actor: Any) -> None:
    if policy.customer_id is None and policy.project_id is None:
        raise errors.Conflict(
            "The legal entity's policy can be changed, not removed.", code="illegal_transition"
        )
    with transaction.atomic():
        audit_record(
            action="automation_policy.removed",
            obj=policy,
            actor=actor,
            before={name: getattr(policy, name) for name in SETTINGS},
        )
        policy.delete()

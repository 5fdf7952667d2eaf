"""Services of the projects app (see STYLE.md: writes, named <entity>_<action>)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from ledger.models import AccountRole, AccountType
from ledger.selectors import role_unmapped_entities
from projects.hooks import milestone_reached_notify
from projects.models import (
    RESERVED_PROJECT_CODES,
    Assignment,
    DeferralRule,
    Milestone,
    MilestoneStatus,
    OpportunityPlan,
    Project,
    ProjectStatus,
    ProjectTemplate,
    RateCard,
    RateLevel,
    ServiceItem,
    Task,
)
from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.dates import date_require
from psa.kernel.etag import etag_require
from psa.kernel.roles import Role, has_role
from psa.kernel.updates import model_update
from psa.kernel.validators import money_places_check


def project_create_from_template(
    *,
    template: ProjectTemplate,
    customer: Any,
    code: str,
    name: str,
    start_date: dt.date,
    manager: Any,
    actor: Any = None,
    actor_label: str = "",
    budget_hours: Decimal | None = None,
    budget_amount: Decimal | None = None,
    status: str = ProjectStatus.ACTIVE,
    opportunity: Any = None,
) -> Project:
    """A project for ``customer`` with the template's tasks, milestones (planned dates offset
    from ``start_date``), rates (effective from ``start_date``) and budget — all or nothing.

    The project bills from the customer's legal entity in the customer's currency. The
    manager is assigned to it. Budgets given here override the template's. ``opportunity``:
    the won crm opportunity the project comes from, if any.
    """
    date_require(start_date, "start_date")  # milestones are planned from it: no year 9999
    code = (code or "").strip().lower()
    if not code:
        raise errors.ValidationFailed("A project code is required.", fields={"code": "Required."})
    if code in RESERVED_PROJECT_CODES:
        raise errors.ValidationFailed(
            f"{code} is a reserved word of the API's URLs.",
            fields={"code": f"Reserved: {', '.join(sorted(RESERVED_PROJECT_CODES))}."},
        )
    if not (name or "").strip():
        raise errors.ValidationFailed("A project name is required.", fields={"name": "Required."})
    if Project.objects.filter(code=code).exists():
        raise errors.ValidationFailed(
            f"A project with code {code} exists already.", fields={"code": "Already in use."}
        )
    if budget_amount is not None:  # in the customer's currency: 0.5 JPY is not an amount
        money_places_check(budget_amount, customer.currency, "budget_amount", label="The budget")
    end_date = (
        start_date + dt.timedelta(days=template.duration_days) if template.duration_days else None
    )
    try:
        with transaction.atomic():
            project = Project.objects.create(
                code=code,
                name=name.strip(),
                customer=customer,
                legal_entity_id=customer.legal_entity_id,
                billing_model=template.billing_model,
                currency=customer.currency,
                budget_hours=budget_hours if budget_hours is not None else template.budget_hours,
                budget_amount=(
                    budget_amount if budget_amount is not None else template.budget_amount
                ),
                start_date=start_date,
                end_date=end_date,
                manager=manager,
                status=status,
                opportunity=opportunity,
            )
            Assignment.objects.create(project=project, person=manager, role="Project manager")
            _project_copy_template(project, template, start_date)
            audit_record(
                action="project.created_from_template",
                obj=project,
                actor=actor,
                actor_label=actor_label,
                after={"template": template.code, "customer": customer.pk, "code": code},
            )
    except IntegrityError as exc:  # a concurrent create took the code between check and insert
        raise errors.ValidationFailed(
            f"A project with code {code} exists already.", fields={"code": "Already in use."}
        ) from exc
    return project


def _project_copy_template(project: Project, template: ProjectTemplate, start: dt.date) -> None:
    """The template's tasks, milestones (dates offset from ``start``) and rates, on ``project``."""
    Task.objects.bulk_create(
        Task(project=project, name=t.name, billable=t.billable) for t in template.tasks.all()
    )
    Milestone.objects.bulk_create(
        Milestone(
            project=project,
            name=m.name,
            amount=m.amount,
            planned_date=start + dt.timedelta(days=m.day_offset),
            service_item_id=m.service_item_id,
            status=MilestoneStatus.PLANNED,
        )
        for m in template.milestones.all()
    )
    RateCard.objects.bulk_create(
        RateCard(
            level=RateLevel.ROLE_ON_PROJECT if r.role else RateLevel.PROJECT,
            project=project,
            role=r.role,
            rate=r.rate,
            currency=project.currency,
            effective_from=start,
        )
        for r in template.rates.all()
    )


# --- what projects does for crm (registered in crm.hooks by ProjectsConfig.ready) -----------


def project_create_for_opportunity(
    *,
    opportunity: Any,
    template: ProjectTemplate,
    customer: Any,
    code: str,
    name: str,
    start_date: dt.date,
    manager: Any,
    actor: Any,
) -> Project:
    """The won opportunity's project, linked to it. crm's ``opportunity_win`` calls this
    inside its transaction (on the locked opportunity), so both commit or neither does."""
    return project_create_from_template(
        template=template,
        customer=customer,
        code=code,
        name=name,
        start_date=start_date,
        manager=manager,
        actor=actor,
        opportunity=opportunity,
    )


def opportunity_plan_set(*, opportunity: Any, template: ProjectTemplate | None) -> None:
    """The template ``opportunity``'s project will start from (None: no plan any more).

    Called by crm's opportunity services inside their transaction, on the locked opportunity;
    they audit the change.
    """
    if template is None:
        OpportunityPlan.objects.filter(opportunity=opportunity).delete()
        return
    OpportunityPlan.objects.update_or_create(
        opportunity=opportunity, defaults={"template": template}
    )


def milestone_reach(
    *, milestone: Milestone, on: dt.date, actor: Any = None, actor_label: str = ""
) -> Milestone:
    """Mark a planned milestone reached (by a person or a job). Reached twice is quiet; an
    invoiced milestone cannot go back."""
    with transaction.atomic():
        # The claim: only a planned milestone moves, so two workers cannot both reach it.
        moved = Milestone.objects.filter(pk=milestone.pk, status=MilestoneStatus.PLANNED).update(
            status=MilestoneStatus.REACHED, reached_on=on, updated_at=timezone.now()
        )
        milestone.refresh_from_db()
        if not moved:
            if milestone.status == MilestoneStatus.REACHED:
                return milestone
            raise errors.Conflict(
                f"The milestone is {milestone.get_status_display().lower()}.",
                fields={"status": "Only a planned milestone can be reached."},
            )
        audit_record(
            action="milestone.reached",
            obj=milestone,
            actor=actor,
            actor_label=actor_label,
            before={"status": MilestoneStatus.PLANNED},
            after={"status": MilestoneStatus.REACHED, "reached_on": on.isoformat()},
        )
        # Billing's reaction (deferred revenue recognised), registered through the hook.
        milestone_reached_notify(milestone=milestone, on=on, actor=actor, actor_label=actor_label)
        milestone.refresh_from_db()
    return milestone


def rate_card_change(
    *,
    project: Project,
    rate: object,
    effective_from: dt.date,
    person: Any = None,
    role: str = "",
    actor: Any = None,
) -> RateCard:
    """A new rate on the project from ``effective_from``: for one person, for a role, or the
    project default. The line in force until then is ended the day before; lines are never
    edited in place, so time already logged keeps the rate of its day."""
    from decimal import InvalidOperation

    try:
        amount = Decimal(str(rate).strip())
    except InvalidOperation:
        raise errors.ValidationFailed(
            "The rate is not a number.", fields={"rate": "Not a number."}
        ) from None
    if not amount.is_finite() or amount < 0:
        raise errors.ValidationFailed("The rate is a positive amount.", fields={"rate": "e.g. 125"})
    # In the project's currency: 12.345 KWD is a rate, 12.5 JPY is not.
    money_places_check(amount, project.currency, "rate", label="The rate")
    if amount >= Decimal("1e8"):
        raise errors.ValidationFailed("The rate is too large.", fields={"rate": "Too large."})
    role = (role or "").strip()
    if person is not None and role:
        raise errors.ValidationFailed(
            "A rate is for a person or for a role, not both.", fields={"role": "Leave empty."}
        )
    if person is not None and not project.assignments.filter(person=person).exists():
        raise errors.ValidationFailed(
            "That person is not on the project.", fields={"person": "Not assigned."}
        )
    level = (
        RateLevel.PERSON_ON_PROJECT
        if person is not None
        else RateLevel.ROLE_ON_PROJECT
        if role
        else RateLevel.PROJECT
    )
    with transaction.atomic():
        # Lock the project so two changes of the same rate cannot both end the same line.
        Project.objects.select_for_update().filter(pk=project.pk).first()
        same = RateCard.objects.filter(project=project, level=level, person=person, role=role)
        if same.filter(effective_from__gte=effective_from).exists():
            raise errors.ValidationFailed(
                "A later rate exists already; a change starts after the last one.",
                fields={"effective_from": "After the latest start date."},
            )
        for line in same.filter(effective_to__isnull=True) | same.filter(
            effective_to__gte=effective_from
        ):
            line.effective_to = effective_from - dt.timedelta(days=1)
            line.save(update_fields=["effective_to"])
        line = RateCard.objects.create(
            project=project,
            level=level,
            person=person,
            role=role,
            rate=amount,
            currency=project.currency,
            effective_from=effective_from,
        )
        audit_record(
            action="rate_card.changed",
            obj=project,
            actor=actor,
            after={
                "level": level,
                "person": getattr(person, "pk", None),
                "role": role,
                "rate": str(amount),
                "from": effective_from.isoformat(),
            },
        )
    return line


def project_manage_check(*, project: Project, actor: Any) -> None:
    """Only the project's manager, finance or an admin change a project (as on the pages)."""
    if not (has_role(actor, Role.FINANCE) or project.manager_id == getattr(actor, "pk", None)):
        raise errors.PermissionDenied("Only the project's manager or finance changes a project.")


PROJECT_FIELDS = ("name", "status", "end_date", "budget_hours", "budget_amount", "allow_all_users")


def project_update(
    *, project: Project, actor: Any, expected_etag: str | None = None, **changes: Any
) -> Project:
    """Change a project's name, status, end date, budgets or openness to all users.

    ``expected_etag`` (an API client's If-Match) must name the project as it is when locked.
    """
    unknown = set(changes) - set(PROJECT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown project fields: {sorted(unknown)}")
    project_manage_check(project=project, actor=actor)
    problems: dict[str, str] = {}
    if "name" in changes and not (changes["name"] or "").strip():
        problems["name"] = "Required."
    if "status" in changes and changes["status"] not in ProjectStatus.values:
        problems["status"] = "Unknown status."
    for money in ("budget_hours", "budget_amount"):
        if changes.get(money) is not None and changes[money] < 0:
            problems[money] = "Cannot be negative."
    if changes.get("budget_amount") is not None and "budget_amount" not in problems:
        money_places_check(changes["budget_amount"], project.currency, "budget_amount")
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        etag_require(locked, expected_etag)
        end = changes.get("end_date", locked.end_date)
        if end is not None and end < locked.start_date:
            problems["end_date"] = "The project ends before it starts."
        if problems:
            raise errors.ValidationFailed("Please correct the highlighted fields.", fields=problems)
        model_update(instance=locked, data=changes, action="project.updated", actor=actor)
    return locked


def assignment_create(
    *,
    project: Project,
    person: Any,
    actor: Any,
    role: str = "",
    planned_hours: Decimal | None = None,
) -> Assignment:
    """Put a person on a project (once), in a role, with planned hours."""
    project_manage_check(project=project, actor=actor)
    if planned_hours is not None and planned_hours < 0:
        raise errors.ValidationFailed(
            "Planned hours cannot be negative.", fields={"planned_hours": "At least 0."}
        )
    try:
        with transaction.atomic():
            assignment = Assignment.objects.create(
                project=project, person=person, role=(role or "").strip()[:100],
                planned_hours=planned_hours,
            )  # fmt: skip
            audit_record(
                action="assignment.created", obj=project, actor=actor,
                after={"person": person.pk, "role": assignment.role},
            )  # fmt: skip
    except IntegrityError as exc:  # the unique (project, person) constraint
        raise errors.ValidationFailed(
            "That person is on the project already.", fields={"person": "Already assigned."}
        ) from exc
    return assignment


def milestone_update(
    *,
    milestone: Milestone,
    actor: Any,
    name: str | None = None,
    amount: Decimal | None = None,
    planned_date: dt.date | None = None,
    expected_etag: str | None = None,
) -> Milestone:
    """Change a planned milestone; a reached or invoiced one is history and stays as it is.

    ``expected_etag`` (an API client's If-Match) must name the milestone as it is when locked.
    """
    project_manage_check(project=milestone.project, actor=actor)
    with transaction.atomic():
        locked = Milestone.objects.select_for_update().get(pk=milestone.pk)
        etag_require(locked, expected_etag)
        if locked.status != MilestoneStatus.PLANNED:
            raise errors.Conflict(
                f"The milestone is {locked.get_status_display().lower()}.",
                fields={"status": "Only a planned milestone can be changed."},
            )
        problems: dict[str, str] = {}
        if name is not None and not name.strip():
            problems["name"] = "Required."
        if amount is not None and amount < 0:
            problems["amount"] = "Cannot be negative."
        elif amount is not None:
            money_places_check(amount, locked.project.currency, "amount")
        if (
            name is not None
            and Milestone.objects.filter(project_id=locked.project_id, name=name.strip())
            .exclude(pk=locked.pk)
            .exists()
        ):
            problems["name"] = "Another milestone of the project has this name."
        if problems:
            raise errors.ValidationFailed("Please correct the highlighted fields.", fields=problems)
        before = {"name": locked.name, "amount": str(locked.amount),
                  "planned_date": locked.planned_date.isoformat()}  # fmt: skip
        fields = ["updated_at"]
        if name is not None:
            locked.name = name.strip()
            fields.append("name")
        if amount is not None:
            locked.amount = amount
            fields.append("amount")
        if planned_date is not None:
            locked.planned_date = planned_date
            fields.append("planned_date")
        locked.save(update_fields=fields)
        audit_record(
            action="milestone.updated", obj=locked, actor=actor, before=before,
            after={"name": locked.name, "amount": str(locked.amount),
                   "planned_date": locked.planned_date.isoformat()},
        )  # fmt: skip
    return locked


# --- service items ------------------------------------------------------------------------


def service_item_role_check(role: str) -> None:
    """A service item's revenue posts to ``role``: it must be an income account in the chart
    of every legal entity (a service item sells in all of them)."""
    if role not in AccountRole.values:
        raise errors.ValidationFailed(
            f"{role!r} is not an account role.",
            fields={"revenue_account_role": "Unknown account role."},
        )
    missing = role_unmapped_entities(role=role, account_type=AccountType.INCOME)
    if missing:
        raise errors.ValidationFailed(
            f"{role} is not an income account in the chart of {', '.join(missing)}.",
            fields={"revenue_account_role": "Not an income account in every chart."},
        )


def service_item_create(
    *,
    actor: Any,
    code: str,
    name: str,
    revenue_account_role: str = "revenue_services",
    deferral_rule: str = DeferralRule.NONE,
    tax_category: str = "standard",
    active: bool = True,
) -> ServiceItem:
    """Add a product to the catalogue (finance): its revenue role must be in the charts."""
    if not has_role(actor, Role.FINANCE):
        raise errors.PermissionDenied("Only finance maintains the service items.")
    service_item_role_check(revenue_account_role)
    if deferral_rule not in DeferralRule.values:
        raise errors.ValidationFailed(
            "Unknown deferral rule.", fields={"deferral_rule": ", ".join(DeferralRule.values)}
        )
    with transaction.atomic():
        if ServiceItem.objects.filter(code=code).exists():
            raise errors.Conflict("That code is taken.", fields={"code": "Taken."})
        item = ServiceItem.objects.create(
            code=code, name=name, revenue_account_role=revenue_account_role,
            deferral_rule=deferral_rule, tax_category=tax_category, active=active,
        )  # fmt: skip
        audit_record(action="service_item.created", obj=item, actor=actor)
    return item

"""The demo's projects and timesheets set-up: service items, tasks, rate cards (with one change
mid-week), milestones, project templates, holidays, an approval policy and rejected time."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from projects.models import (
    DeferralRule,
    Milestone,
    MilestoneStatus,
    ProjectTemplate,
    RateCard,
    RateLevel,
    ServiceItem,
    Task,
    TemplateMilestone,
    TemplateRate,
    TemplateTask,
)
from psa.automation.demo.data import (
    FIRM_RATES,
    HOLIDAYS,
    PROJECT_RATES,
    REJECTIONS,
    SENIOR_PREMIUM,
    TASKS,
)
from psa.automation.demo.report import SeedReport
from timesheets.models import ApprovalPolicy, EntryStatus, Holiday, TimeEntry
from timesheets.selectors import ENTITY_DEFAULTS, week_start


def seed_work(report: SeedReport, today: dt.date, users, entities, projects) -> None:
    items = _service_items(report)
    _tasks(report, projects)
    _rates(report, today, users, entities, projects)
    _milestones(report, today, projects, items)
    _templates(report, items)
    _holidays(report, today, entities)
    _policy_and_rejections(report, today, users, entities, projects)


def _service_items(report: SeedReport) -> dict[str, ServiceItem]:
    """What the firm sells, each with its revenue account and deferral rule."""
    items = {}
    for code, name, role, rule in [
        ("consulting", "Consulting services", "revenue_services", DeferralRule.NONE),
        ("fixed-fee", "Fixed-fee deliverable", "revenue_fixed_fee", DeferralRule.ON_MILESTONE),
        ("retainer", "Support retainer", "revenue_recurring", DeferralRule.SERVICE_PERIOD),
    ]:
        items[code], made = ServiceItem.objects.get_or_create(
            code=code,
            defaults={"name": name, "revenue_account_role": role, "deferral_rule": rule},
        )
        report.bump("service items", int(made))
    return items


def _tasks(report: SeedReport, projects) -> None:
    """Tasks on every project; seeded time goes on the task its note describes."""
    for project in projects:
        for name, billable in TASKS:
            _, made = Task.objects.get_or_create(
                project=project, name=name, defaults={"billable": billable}
            )
            report.bump("tasks", int(made))

    # Seeded time without a task goes on the task its note describes (a few UPDATEs).
    by_note = {
        "Analysis": ["Workshop with client stakeholders", "Documentation"],
        "Project management": ["Status meeting and planning"],
    }
    for project in projects:
        tasks = {t.name: t for t in Task.objects.filter(project=project)}
        untasked = TimeEntry.objects.filter(project=project, task__isnull=True, billed_at=None)
        moved = 0
        for name, notes in by_note.items():
            moved += untasked.filter(note__in=notes).update(task=tasks[name])
        moved += untasked.update(task=tasks["Build"])
        report.bump("time entries put on tasks", moved)


def _rates(report: SeedReport, today: dt.date, users, entities, projects) -> None:
    """Firm rates per entity, project and senior rates, and Alice's rate change."""
    for code, (rate, currency) in FIRM_RATES.items():
        entity = entities[code]
        if not RateCard.objects.filter(level=RateLevel.FIRM, legal_entity=entity).exists():
            RateCard.objects.create(
                level=RateLevel.FIRM,
                legal_entity=entity,
                rate=Decimal(rate),
                currency=currency,
                effective_from=dt.date(today.year - 1, 1, 1),
            )
            report.bump("rates")
    for project in projects:
        if RateCard.objects.filter(project=project).exists():
            continue
        base = Decimal(PROJECT_RATES[project.currency])
        lines = [
            RateCard(level=RateLevel.PROJECT, project=project, rate=base),
            RateCard(
                level=RateLevel.ROLE_ON_PROJECT,
                project=project,
                role="Senior consultant",
                rate=base + SENIOR_PREMIUM,
            ),
        ]
        if project.code == "nw-erp":
            # Alice's rate on the rollout went up on a Wednesday four weeks ago.
            change = week_start(today) - dt.timedelta(weeks=4) + dt.timedelta(days=2)
            lines += [
                RateCard(
                    level=RateLevel.PERSON_ON_PROJECT,
                    project=project,
                    person=users["alice"],
                    rate=Decimal(170),
                    effective_to=change - dt.timedelta(days=1),
                ),
                RateCard(
                    level=RateLevel.PERSON_ON_PROJECT,
                    project=project,
                    person=users["alice"],
                    rate=Decimal(185),
                    effective_from=change,
                ),
            ]
        for line in lines:
            line.currency = project.currency
            line.effective_from = line.effective_from or project.start_date
        RateCard.objects.bulk_create(lines)
        report.bump("rates", len(lines))


def _milestones(report: SeedReport, today: dt.date, projects, items) -> None:
    """Three milestones on each fixed-price project, reached when planned in the past."""
    for project in projects:
        if project.billing_model != "fixed_price" or project.milestones.exists():
            continue
        amount = project.budget_amount or Decimal(0)
        for i, (name, share) in enumerate(
            [("Design signed off", "0.3"), ("Beta delivered", "0.4"), ("Go-live", "0.3")]
        ):
            planned = project.start_date + dt.timedelta(weeks=6 * (i + 1))
            Milestone.objects.create(
                project=project,
                name=name,
                amount=(amount * Decimal(share)).quantize(Decimal("0.01")),
                planned_date=planned,
                status=MilestoneStatus.REACHED if planned < today else MilestoneStatus.PLANNED,
                reached_on=planned if planned < today else None,
                service_item=items["fixed-fee"],
            )
            report.bump("milestones")


def _templates(report: SeedReport, items) -> None:
    """The project templates a won opportunity starts from."""
    for code, name, model, hours, amount, days, tasks, milestones, rates in [
        ("time-and-materials", "Time & materials engagement", "time_and_materials", 400,
         None, 120, TASKS, [], [("", "135"), ("Senior consultant", "165")]),
        ("fixed-discovery", "Fixed-price discovery", "fixed_price", 160, 24000, 42,
         TASKS[:3], [("Kick-off workshop", "4800", 0), ("Findings report", "12000", 28),
                     ("Roadmap accepted", "7200", 42)], [("", "140")]),
    ]:  # fmt: skip
        template, made = ProjectTemplate.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "billing_model": model,
                "budget_hours": Decimal(hours),
                "budget_amount": Decimal(amount) if amount else None,
                "duration_days": days,
            },
        )
        report.bump("project templates", int(made))
        if made:
            TemplateTask.objects.bulk_create(
                TemplateTask(template=template, name=n, billable=b) for n, b in tasks
            )
            TemplateMilestone.objects.bulk_create(
                TemplateMilestone(
                    template=template,
                    name=n,
                    amount=Decimal(a),
                    day_offset=d,
                    service_item=items["fixed-fee"],
                )
                for n, a, d in milestones
            )
            TemplateRate.objects.bulk_create(
                TemplateRate(template=template, role=r, rate=Decimal(v)) for r, v in rates
            )


def _holidays(report: SeedReport, today: dt.date, entities) -> None:
    """Public holidays of each entity, this year and next."""
    for code, days in HOLIDAYS.items():
        for year in (today.year, today.year + 1):
            for (month, day), name in days:
                _, made = Holiday.objects.get_or_create(
                    legal_entity=entities[code],
                    date=dt.date(year, month, day),
                    defaults={"name": name},
                )
                report.bump("holidays", int(made))


def _policy_and_rejections(report: SeedReport, today: dt.date, users, entities, projects) -> None:
    """Each entity's default approval policy (time approves itself wherever the rules hold),
    an override on the support retainer; last week's time came back for two."""
    for entity in entities.values():
        _, made = ApprovalPolicy.objects.get_or_create(
            legal_entity=entity, defaults=dict(ENTITY_DEFAULTS)
        )
        report.bump("approval policies", int(made))
    support = next(p for p in projects if p.code == "nw-sup")
    _, made = ApprovalPolicy.objects.get_or_create(
        project=support,
        defaults={"max_hours_per_day": Decimal(10), "max_hours_per_week": Decimal(45)},
    )
    report.bump("approval policies", int(made))

    # Last week's time came back for two people, with the manager's reason.
    last_monday = week_start(today) - dt.timedelta(weeks=1)
    for key, weekday, reason in REJECTIONS:
        person = users[key]
        if TimeEntry.objects.filter(person=person, status=EntryStatus.REJECTED).exists():
            continue
        rejected = TimeEntry.objects.filter(
            person=person,
            date=last_monday + dt.timedelta(days=weekday),
            status=EntryStatus.SUBMITTED,
        ).update(status=EntryStatus.REJECTED, rejection_reason=reason)
        report.bump("rejected time entries", rejected)

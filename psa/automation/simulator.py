"""A firm simulator: a fresh legal entity whose consultants log time and whose customers pay,
day by day, while the real beat jobs (``cycle.run_daily`` and the mail and delivery sweeps)
run on the product's clock. ``manage.py simulate`` prints what it saw
(``psa.automation.simulator_report``).

Everything the simulated people do goes through the services people use (``time_entry_save``,
``week_submit``, ``payment_record``); everything else is left to the jobs. The noise comes from
one ``random.Random(seed)``: a public holiday, days off, overtime days balanced within the
week, a week submitted a week late, customers who pay late. Rerunning with the same seed
replays the same days on the same entity and adds nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from billing.models import OPEN, Invoice, InvoiceKind, PaymentMethodKind, TaxRate
from billing.services.payments import payment_record
from crm.models import Customer
from ledger.models import FxRate, LegalEntity
from ledger.services import books_setup
from projects.models import Assignment, Project, RateCard, RateLevel
from psa.automation import tasks
from psa.automation.cycle import run_daily
from psa.automation.policies import automation_policy_set
from psa.kernel import clock, errors
from psa.kernel.models import User
from psa.kernel.roles import Role, assign_roles
from timesheets.models import EntryStatus, Holiday, TimeEntry
from timesheets.services import approval_policy_set, time_entry_save, week_submit

DOMAIN = "sim.example"
CAPACITY = Decimal(40)
ALL_ON = {
    "auto_approve": "on",
    "release_milestones": "on",
    "invoicing": "weekly",
    "invoice_day": "0",  # Mondays: last week's approved time is billed
    "auto_issue": "on",
    "auto_send": "on",
    "autopay": "on",
    "dunning": "on",
}
# The entity's approval rules: the built-in defaults, except that the simulated consultants
# are established staff (their first weeks with the firm are long past).
APPROVAL = {
    "enabled": True,
    "max_hours_per_day": Decimal(10),
    "max_hours_per_week": None,
    "within_capacity": True,
    "note_required": False,
    "project_must_be_active": True,
    "within_budget": True,
    "allow_weekends": False,
    "allow_holidays": False,
    "review_first_weeks": 0,
}
# (currency, units of GBP per unit, hourly rate, payment terms in days)
CURRENCIES = (
    ("GBP", Decimal(1), Decimal(120), 14),
    ("EUR", Decimal("0.85"), Decimal(140), 14),
    ("USD", Decimal("0.79"), Decimal(150), 21),
)
NOTES = ("Workshop with the client", "Build and review", "Data migration", "Testing", "Support")


class SimulatorRefused(Exception):
    """The simulator cannot run here (the clock cannot move, or the arguments are wrong)."""


@dataclass
class Firm:
    entity: LegalEntity
    finance: User
    manager: User
    consultants: list[User]
    customers: list[Customer]
    projects: list[Project]
    by_person: dict[int, Project]


@dataclass
class Events:
    """What the simulated people did and what the product told them (each with its reason)."""

    entries: int = 0
    hours: Decimal = Decimal(0)
    days_off: int = 0
    overtime_days: int = 0
    weeks_submitted: int = 0
    late_weeks: list[str] = field(default_factory=list)
    payments: int = 0
    late_payments: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Plan:
    """The run's parameters. ``overload``: (consultant index, week number from 0) logging
    10 h every weekday of that week, over the 40 h capacity; ``no_note``: (consultant index,
    week number) logging that week without notes, on a project whose rules require them (the
    first project's: consultants 0, k, 2k... with k projects)."""

    consultants: int
    days: int
    seed: int = 1
    start: dt.date | None = None
    overload: tuple[int, int] | None = None
    no_note: tuple[int, int] | None = None


def entity_code(seed: int) -> str:
    return f"sim-{seed}"


def simulate(plan: Plan) -> tuple[Firm, Events, dt.date]:
    """Run the firm for ``plan.days`` days from ``plan.start``; the clock is put back after."""
    if not getattr(settings, "CLOCK_CONTROL", False):
        raise SimulatorRefused("The simulator moves the product's clock: CLOCK_CONTROL is off.")
    if plan.consultants < 1 or plan.days < 1:
        raise SimulatorRefused("--consultants and --days must be at least 1.")
    start = plan.start or _default_start(plan.days)
    rng = random.Random(plan.seed)  # noqa: S311 - simulated noise, not security
    saved = clock.offset()
    try:
        clock.reset()
        clock.advance(days=(start - clock.today()).days)
        firm = firm_setup(plan, start, rng)
        events = Events()
        weeks = _WeekPlanner(plan, firm, rng, start)
        for n in range(plan.days):
            if n:
                clock.advance(days=1)
            _day(firm, events, weeks, clock.today(), plan.seed)
        return firm, events, clock.today()
    finally:
        clock.reset()
        clock.advance(seconds=int(saved.total_seconds()))


def _default_start(days: int) -> dt.date:
    """A Monday about ``days`` days before today, so the month simulated ends near today."""
    first = clock.today() - dt.timedelta(days=days)
    return first - dt.timedelta(days=first.weekday())


# --- the firm -------------------------------------------------------------------------------


def firm_setup(plan: Plan, start: dt.date, rng: random.Random) -> Firm:
    """The entity, its books, policies, people, customers and projects (kept when they exist)."""
    code = entity_code(plan.seed)
    with transaction.atomic():
        entity, _ = LegalEntity.objects.get_or_create(
            code=code,
            defaults={"name": f"Simulated firm {plan.seed}", "legal_name": f"Sim {plan.seed} Ltd",
                      "country": "GB", "functional_currency": "GBP",
                      "bank_details": "Sort code 00-00-00, account 12345678"},
        )  # fmt: skip
        books_setup(legal_entity=entity)
        TaxRate.objects.get_or_create(
            legal_entity=entity, is_default=True, defaults={"name": "VAT", "rate": Decimal("0.2")}
        )
        for currency, rate, _, _ in CURRENCIES[1:]:
            FxRate.objects.get_or_create(
                currency=currency, functional_currency="GBP", date=start - dt.timedelta(days=1),
                defaults={"rate": rate},
            )  # fmt: skip
        finance = _user(f"finance.{code}", "Finn", "Ance", [Role.FINANCE])
        manager = _user(f"pm.{code}", "Pat", "Manager", [Role.PROJECT_MANAGER])
        automation_policy_set(legal_entity=entity, actor=finance, values=ALL_ON)
        approval_policy_set(actor=finance, legal_entity=entity, **APPROVAL)
        Holiday.objects.get_or_create(
            legal_entity=entity, date=_holiday(plan, start, rng), defaults={"name": "Bank"}
        )
        consultants = [
            _user(f"c{i + 1}.{code}", f"Consultant{i + 1}", f"Sim{plan.seed}", [Role.CONSULTANT])
            for i in range(plan.consultants)
        ]
        customers = [_customer(entity, i, manager) for i in range(max(2, plan.consultants // 4))]
        projects = [_project(c, i, start, manager, plan) for i, c in enumerate(customers)]
        # The first engagement's client wants a note on every entry: its project's override.
        approval_policy_set(actor=finance, project=projects[0], note_required=True)
        by_person = {}
        for i, person in enumerate(consultants):
            project = projects[i % len(projects)]
            Assignment.objects.get_or_create(
                project=project, person=person, defaults={"role": "Consultant"}
            )
            by_person[person.pk] = project
    return Firm(entity, finance, manager, consultants, customers, projects, by_person)


def _holiday(plan: Plan, start: dt.date, rng: random.Random) -> dt.date:
    """A public holiday on a weekday of the run (never in a week the plan overloads: its
    figures stay as the plan says)."""
    spared = {pair[1] for pair in (plan.overload, plan.no_note) if pair is not None}
    monday = start - dt.timedelta(days=start.weekday())
    days = [start + dt.timedelta(days=n) for n in range(min(plan.days, 28))]
    weekdays = [d for d in days if d.weekday() < 5 and (d - monday).days // 7 not in spared]
    return rng.choice(weekdays) if weekdays else start


def _user(local: str, first: str, last: str, roles: list[str]) -> User:
    user = User.objects.filter(email=f"{local}@{DOMAIN}").first()
    if user is None:
        user = User.objects.create_user(
            email=f"{local}@{DOMAIN}", password=None, first_name=first, last_name=last,
            weekly_capacity_hours=CAPACITY,
        )  # fmt: skip
        assign_roles(user, roles)
    return user


def _customer(entity: LegalEntity, i: int, manager: User) -> Customer:
    currency, _, _, terms = CURRENCIES[i % len(CURRENCIES)]
    customer, _ = Customer.objects.get_or_create(
        legal_entity=entity,
        name=f"Customer {i + 1} of {entity.code}",
        defaults={"legal_name": f"Customer {i + 1} Ltd", "country": "GB", "currency": currency,
                  "payment_terms_days": terms, "billing_address": f"{i + 1} High Street",
                  "billing_email": f"ap{i + 1}.{entity.code}@{DOMAIN}",
                  "account_manager": manager},
    )  # fmt: skip
    return customer


def _project(customer: Customer, i: int, start: dt.date, manager: User, plan: Plan) -> Project:
    rate = CURRENCIES[i % len(CURRENCIES)][2]
    project, created = Project.objects.get_or_create(
        code=f"{customer.legal_entity.code}-p{i + 1}",
        defaults={"name": f"Engagement {i + 1}", "customer": customer,
                  "legal_entity": customer.legal_entity, "billing_model": "time_and_materials",
                  "currency": customer.currency, "start_date": start - dt.timedelta(days=7),
                  "budget_hours": Decimal(plan.consultants * plan.days * 12),
                  "manager": manager, "status": "active"},
    )  # fmt: skip
    if created:
        RateCard.objects.create(
            level=RateLevel.PROJECT, project=project, rate=rate, currency=customer.currency,
            effective_from=project.start_date,
        )  # fmt: skip
    return project


# --- the days -------------------------------------------------------------------------------


class _WeekPlanner:
    """Each consultant's hours for each weekday of a week, drawn once per week: 8 h a day,
    a day off now and then, an overtime day balanced by a shorter one (never above
    capacity), unless the plan overloads that week."""

    def __init__(self, plan: Plan, firm: Firm, rng: random.Random, start: dt.date) -> None:
        self.plan, self.firm, self.rng, self.start = plan, firm, rng, start
        self.holidays = set(
            Holiday.objects.filter(legal_entity=firm.entity).values_list("date", flat=True)
        )
        self.weeks: dict[tuple[int, dt.date], list[Decimal]] = {}
        # One consultant submits one week a week late (the "missing week").
        self.late = (rng.randrange(plan.consultants), rng.randrange(max(1, plan.days // 7 - 1)))

    @property
    def first_monday(self) -> dt.date:
        return self.start - dt.timedelta(days=self.start.weekday())

    def week_no(self, day: dt.date) -> int:
        return (day - dt.timedelta(days=day.weekday()) - self.first_monday).days // 7

    def hours(self, index: int, day: dt.date) -> Decimal:
        monday = day - dt.timedelta(days=day.weekday())
        key = (index, monday)
        if key not in self.weeks:
            self.weeks[key] = self._draw(index, self.week_no(day))
        return self.weeks[key][day.weekday()]

    def _draw(self, index: int, week: int) -> list[Decimal]:
        if self.plan.overload == (index, week):
            return [Decimal(10)] * 5
        hours = [Decimal(8)] * 5
        if self.rng.random() < 0.1:
            hours[self.rng.randrange(5)] = Decimal(0)  # a day off
        if self.rng.random() < 0.3:
            long, short = self.rng.sample(range(5), 2)
            extra = Decimal(self.rng.choice(("1.5", "2")))
            if hours[short] >= extra:
                hours[long] += extra
                hours[short] -= extra
        return hours


def _day(firm: Firm, events: Events, weeks: _WeekPlanner, today: dt.date, seed: int) -> None:
    """One day: consultants log (and submit on Mondays), the beat runs, customers pay."""
    if today.weekday() < 5:
        for i, person in enumerate(firm.consultants):
            _log(firm, events, weeks, i, person, today)
    if today.weekday() == 0:
        for i, person in enumerate(firm.consultants):
            _submit(events, weeks, i, person, today)
    run_daily()
    tasks.send_due_mail()
    tasks.deliver_due_outbox()
    tasks.deliver_due_webhooks()
    _pay(firm, events, today, seed)


def _log(firm: Firm, events: Events, weeks: _WeekPlanner, i: int, person: User, today: dt.date):
    hours = weeks.hours(i, today)
    if today in weeks.holidays or hours == 0:
        events.days_off += 1
        return
    project = firm.by_person[person.pk]
    existing = TimeEntry.objects.filter(person=person, project=project, date=today).first()
    if existing is not None and existing.status not in (EntryStatus.DRAFT, EntryStatus.REJECTED):
        return  # a rerun of the same seed: this day is logged and submitted already
    week = weeks.week_no(today)
    note = "" if weeks.plan.no_note == (i, week) else weeks.rng.choice(NOTES)
    time_entry_save(actor=person, person=person, project=project, date=today, hours=hours,
                    note=note)  # fmt: skip
    events.entries += 1
    events.hours += hours
    events.overtime_days += int(hours > 8)


def _submit(events: Events, weeks: _WeekPlanner, i: int, person: User, today: dt.date) -> None:
    """Submit last week — and, for the consultant who forgot, the week before as well."""
    last = today - dt.timedelta(days=7)
    if last < weeks.first_monday:
        return  # the simulation had not begun
    mondays = [last]
    if weeks.late == (i, weeks.week_no(last)):
        return  # forgotten: submitted next Monday
    if weeks.late == (i, weeks.week_no(last) - 1):
        mondays.insert(0, last - dt.timedelta(days=7))
        events.late_weeks.append(
            f"{person}'s week of {mondays[0]:%d %b} submitted a week late, on {today:%d %b}"
        )
    for monday in mondays:
        try:
            events.weeks_submitted += int(
                week_submit(actor=person, person=person, week_start=monday) > 0
            )
        except errors.ValidationFailed as exc:  # no time that week (days off): nothing to do
            events.refused.append(f"{person}, week of {monday:%d %b}: {exc.message}")


def _pay(firm: Firm, events: Events, today: dt.date, seed: int) -> None:
    """Customers pay e-mailed invoices by bank transfer: most a few days before the due date,
    one in five late (3 to 20 days after it). Each invoice's day is drawn from the seed and
    its number, so a rerun pays on the same days."""
    invoices = Invoice.objects.filter(
        legal_entity=firm.entity, kind=InvoiceKind.INVOICE, status__in=OPEN,
        sent_at__isnull=False,
    ).select_related("customer")  # fmt: skip
    for invoice in invoices.order_by("id"):
        draw = random.Random(f"{seed}:{invoice.number}")  # noqa: S311 - simulated noise
        late = draw.random() < 0.2
        offset = draw.randint(3, 20) if late else -draw.randint(0, 7)
        pay_on = max(invoice.due_date + dt.timedelta(days=offset), invoice.issue_date)
        if today < pay_on or invoice.amount_due <= 0:
            continue
        payment_record(
            invoice=invoice, amount=invoice.amount_due, received_on=today,
            method=PaymentMethodKind.BANK_TRANSFER, reference=f"Transfer {invoice.number}",
            actor_label="simulator:customer",
        )  # fmt: skip
        events.payments += 1
        if today > invoice.due_date:
            events.late_payments.append(
                f"{invoice.number} of {invoice.customer}: paid {today:%d %b}, "
                f"{(today - invoice.due_date).days} days after its due date"
            )

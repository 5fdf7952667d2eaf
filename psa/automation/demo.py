"""The demo firm loaded by ``manage.py seed_demo`` (and by the run command).

Idempotent: every object is looked up by a natural key first, so a second run creates no
duplicates. Random choices come from a fixed seed, so every machine gets the same firm. Each
later area extends ``seed`` as its models land.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from crm.models import Contact, Customer, Lead, LeadFormKey, LeadSource, Opportunity
from crm.services import company_domain
from ledger.models import LegalEntity
from projects.models import (
    Assignment,
    DeferralRule,
    Milestone,
    MilestoneStatus,
    OpportunityPlan,
    Project,
    ProjectTemplate,
    RateCard,
    RateLevel,
    ServiceItem,
    Task,
    TemplateMilestone,
    TemplateRate,
    TemplateTask,
)
from psa.kernel.models import User
from psa.kernel.roles import Role, assign_roles
from timesheets.models import ApprovalPolicy, EntryStatus, Holiday, TimeEntry
from timesheets.selectors import week_start

DEMO_PASSWORD = "demo"  # noqa: S105 - the demo firm's published password
DEMO_DOMAIN = "demo.psa.test"

# One login per role, printed by the run command.
DEMO_LOGINS: list[tuple[str, str]] = [
    ("consultant", f"alice@{DEMO_DOMAIN}"),
    ("project manager", f"maria@{DEMO_DOMAIN}"),
    ("finance", f"fiona@{DEMO_DOMAIN}"),
    ("admin", f"admin@{DEMO_DOMAIN}"),
]

CONSULTANTS = [
    ("alice", "Alice", "Martin", "Senior consultant"),
    ("ben", "Ben", "Okafor", "Consultant"),
    ("chloe", "Chloé", "Dubois", "Consultant"),
    ("dev", "Dev", "Patel", "Senior consultant"),
    ("emma", "Emma", "Schmidt", "Analyst"),
    ("felix", "Felix", "Wagner", "Consultant"),
    ("grace", "Grace", "Kim", "Architect"),
    ("hugo", "Hugo", "Rossi", "Analyst"),
    ("ines", "Inès", "Moreau", "Consultant"),
    ("jack", "Jack", "Murphy", "Senior consultant"),
]
MANAGERS = [
    ("maria", "Maria", "Garcia"),
    ("noah", "Noah", "Fischer"),
    ("olivia", "Olivia", "Brown"),
]

ENTITIES = [
    {
        "code": "acme-uk",
        "name": "Acme Consulting UK",
        "legal_name": "Acme Consulting Ltd",
        "address": "12 Charlotte Street\nLondon W1T 2LS\nUnited Kingdom",
        "country": "GB",
        "tax_id": "GB123456789",
        "functional_currency": "GBP",
        "bank_details": "Barclays · Sort code 20-00-00 · Account 12345678",
    },
    {
        "code": "acme-de",
        "name": "Acme Consulting DE",
        "legal_name": "Acme Consulting GmbH",
        "address": "Torstraße 49\n10119 Berlin\nGermany",
        "country": "DE",
        "tax_id": "DE123456789",
        "functional_currency": "EUR",
        "bank_details": "IBAN DE89 3704 0044 0532 0130 00 · BIC COBADEFFXXX",
    },
]

# name, entity, country, currency, terms, tax treatment, tax id
CUSTOMERS = [
    ("Northwind Traders", "acme-uk", "GB", "GBP", 30, "domestic", "GB987654321"),
    ("Brightwater Energy", "acme-uk", "GB", "GBP", 14, "domestic", "GB555666777"),
    ("Halcyon Health", "acme-uk", "IE", "EUR", 30, "reverse_charge", "IE6388047V"),
    ("Kestrel Logistics", "acme-uk", "US", "USD", 45, "exempt", ""),
    ("Müller Maschinenbau", "acme-de", "DE", "EUR", 30, "domestic", "DE811569869"),
    ("Lumen Retail", "acme-de", "DE", "EUR", 14, "domestic", "DE129273398"),
    ("Vega Finance", "acme-de", "NL", "EUR", 30, "reverse_charge", "NL859048824B01"),
    ("Orbit Media", "acme-de", "FR", "EUR", 30, "reverse_charge", "FR40303265045"),
]

# code, name, customer, billing model, budget hours, budget amount, manager, team (consultants)
PROJECTS = [
    ("NW-ERP", "ERP rollout", "Northwind Traders", "time_and_materials", 1200, 150000, "maria",
     ["alice", "ben", "grace"]),
    ("NW-SUP", "Support retainer", "Northwind Traders", "retainer", 600, 72000, "maria",
     ["ben"]),
    ("BW-GRID", "Grid analytics", "Brightwater Energy", "fixed_price", 900, 108000, "noah",
     ["dev", "emma"]),
    ("HH-PORTAL", "Patient portal", "Halcyon Health", "time_and_materials", 900, 108000,
     "maria", ["alice", "chloe", "hugo"]),
    ("KL-OPS", "Ops dashboard", "Kestrel Logistics", "subscription", None, None, "olivia",
     ["jack"]),
    ("MM-MES", "MES integration", "Müller Maschinenbau", "time_and_materials", 1500, 165000,
     "noah", ["felix", "ines", "grace"]),
    ("LR-SHOP", "Webshop relaunch", "Lumen Retail", "prepaid_fund", 1000, 110000, "olivia",
     ["chloe", "ines"]),
    ("VF-RISK", "Risk engine", "Vega Finance", "fixed_price", 1100, 143000, "noah",
     ["dev", "jack", "felix"]),
    ("OM-CMS", "CMS migration", "Orbit Media", "time_and_materials", 900, 99000, "olivia",
     ["hugo", "emma"]),
]  # fmt: skip

NOTES = [
    "Workshop with client stakeholders",
    "Implementation and unit tests",
    "Data migration scripts",
    "Code review and refactoring",
    "Status meeting and planning",
    "Integration testing",
    "Documentation",
    "Bug fixing from UAT",
]

WEEKS_OF_TIME = 12


@dataclass
class SeedReport:
    created: dict[str, int]

    def bump(self, kind: str, n: int = 1) -> None:
        if n:
            self.created[kind] = self.created.get(kind, 0) + n


def _user(report: SeedReport, email: str, first: str, last: str, roles: list[str], **extra: Any):

    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, password=DEMO_PASSWORD, first_name=first, last_name=last, **extra
        )
        assign_roles(user, roles)
        report.bump("users")
    return user


def seed(*, today: dt.date) -> SeedReport:
    """Create the demo firm; objects that already exist are left as they are."""
    from django.db import transaction

    with transaction.atomic():
        return _seed(today)


def _seed(today: dt.date) -> SeedReport:

    report = SeedReport(created={})
    rng = random.Random(20261123)  # noqa: S311 - demo data, not security

    users = {}
    for key, first, last, _title in CONSULTANTS:
        users[key] = _user(report, f"{key}@{DEMO_DOMAIN}", first, last, [Role.CONSULTANT])
    for key, first, last in MANAGERS:
        roles = [Role.PROJECT_MANAGER, Role.CONSULTANT]
        users[key] = _user(report, f"{key}@{DEMO_DOMAIN}", first, last, roles)
    users["fiona"] = _user(report, f"fiona@{DEMO_DOMAIN}", "Fiona", "Hughes", [Role.FINANCE])
    users["admin"] = _user(
        report, f"admin@{DEMO_DOMAIN}", "Ada", "Admin", [Role.ADMIN], is_staff=True,
        is_superuser=True,
    )  # fmt: skip
    titles = {key: title for key, _, _, title in CONSULTANTS}

    entities = {}
    for spec in ENTITIES:
        entity, created = LegalEntity.objects.get_or_create(code=spec["code"], defaults=spec)
        entities[spec["code"]] = entity
        report.bump("legal entities", int(created))

    customers = {}
    for i, (name, entity, country, currency, terms, treatment, tax_id) in enumerate(CUSTOMERS):
        slug = name.split()[0].lower().replace("ü", "ue")
        customer, created = Customer.objects.get_or_create(
            legal_entity=entities[entity],
            name=name,
            defaults={
                "legal_name": f"{name} {'GmbH' if country == 'DE' else 'Ltd'}",
                "billing_address": f"{10 + i} Market Street\n{country}",
                "country": country,
                "currency": currency,
                "payment_terms_days": terms,
                "tax_treatment": treatment,
                "tax_id": tax_id,
                "billing_email": f"accounts@{slug}.example",
                "account_manager": users[MANAGERS[i % len(MANAGERS)][0]],
            },
        )
        customers[name] = customer
        if created:
            report.bump("customers")
            Contact.objects.create(
                customer=customer,
                name=f"{rng.choice(['Sam', 'Alex', 'Robin', 'Kim'])} {name.split()[0]}",
                email=f"accounts@{slug}.example",
                title="Accounts payable",
                is_billing_contact=True,
            )

    start = today - dt.timedelta(weeks=WEEKS_OF_TIME + 4)
    projects = []
    for code, name, customer_name, model, hours, amount, manager, team in PROJECTS:
        customer = customers[customer_name]
        project, created = Project.objects.get_or_create(
            code=code.lower(),
            defaults={
                "name": name,
                "customer": customer,
                "legal_entity": customer.legal_entity,
                "billing_model": model,
                "currency": customer.currency,
                "budget_hours": Decimal(hours) if hours else None,
                "budget_amount": Decimal(amount) if amount else None,
                "start_date": start,
                "manager": users[manager],
                "status": "active",
            },
        )
        report.bump("projects", int(created))
        for person in [manager, *team]:
            _, made = Assignment.objects.get_or_create(
                project=project,
                person=users[person],
                defaults={
                    "role": "Project manager" if person == manager else titles[person],
                    "planned_hours": Decimal(hours // (len(team) + 1)) if hours else None,
                },
            )
            report.bump("assignments", int(made))
        projects.append(project)

    _seed_time(report, rng, today, users, projects)
    _seed_work(report, today, users, entities, projects)
    _seed_crm(report, today, users, entities, customers)
    from psa.automation.demo_books import seed_books

    seed_books(report, today)  # last: it posts the time and rates seeded above
    return report


def _seed_time(report: SeedReport, rng: random.Random, today: dt.date, users, projects) -> None:
    """Twelve weeks of believable time for each consultant and manager who has none yet.

    Weeks before last week are approved; last week is submitted; this week is a draft up to
    yesterday. Days hold 7-8.5 hours split over the person's projects.
    """

    this_monday = week_start(today)
    first_monday = this_monday - dt.timedelta(weeks=WEEKS_OF_TIME - 1)
    people_with_time = set(
        TimeEntry.objects.filter(date__gte=first_monday).values_list("person_id", flat=True)
    )
    project_ids = [p.id for p in projects]
    by_person: dict[int, list[int]] = {}
    for person_id, project_id in Assignment.objects.filter(project_id__in=project_ids).values_list(
        "person_id", "project_id"
    ):
        by_person.setdefault(person_id, []).append(project_id)

    entries = []
    for user in sorted(users.values(), key=lambda u: u.email):
        if user.id in people_with_time or user.id not in by_person:
            continue
        mine = sorted(by_person[user.id])
        day = first_monday
        while day < today:
            if day.weekday() < 5 and rng.random() > 0.04:  # weekdays, the odd day off
                status = (
                    EntryStatus.APPROVED
                    if day < this_monday - dt.timedelta(weeks=1)
                    else EntryStatus.SUBMITTED
                    if day < this_monday
                    else EntryStatus.DRAFT
                )
                remaining = Decimal(rng.choice(["7", "7.5", "8", "8", "8.5"]))
                picks = rng.sample(mine, k=min(len(mine), rng.choice([1, 1, 2])))
                for n, project_id in enumerate(picks):
                    hours = (
                        remaining if n == len(picks) - 1 else Decimal(rng.choice(["2", "3", "4"]))
                    )
                    remaining -= hours
                    entries.append(
                        TimeEntry(
                            person=user,
                            project_id=project_id,
                            date=day,
                            hours=hours,
                            note=rng.choice(NOTES),
                            billable=rng.random() > 0.1,
                            status=status,
                        )
                    )
            day += dt.timedelta(days=1)
    TimeEntry.objects.bulk_create(entries, batch_size=1000)
    report.bump("time entries", len(entries))


# email, name, company, phone, website, status, message, disqualify reason
DEMO_LEADS = [
    ("priya@orbitalfoods.example", "Priya Shah", "Orbital Foods", "+44 20 7946 0101",
     "www.orbitalfoods.example", "new",
     "We are moving our analytics to the cloud and need an assessment in Q1.", ""),
    ("tom.becker@gmail.com", "Tom Becker", "", "", "", "new",
     "Do you do small Django projects? Budget around 5k.", ""),
    ("lena.park@northwind.example", "Lena Park", "Northwind Traders", "", "", "new",
     "Our logistics team would like a second phase of the forecasting work.", ""),
    ("marco@heliossolar.example", "Marco Bianchi", "Helios Solar", "+39 02 1234 5678",
     "https://heliossolar.example", "qualified",
     "Looking for a partner for a data platform discovery, then build.", ""),
    ("kim@halcyon.example", "Kim Byrne", "Halcyon Health", "", "", "converted",
     "Can you help with our patient-portal roadmap?", ""),
    ("jo.student@gmail.com", "Jo Student", "", "", "", "disqualified",
     "I am writing my thesis on PSA tools, could you fill in a survey?",
     "Student survey, not a sales enquiry"),
]  # fmt: skip


def _seed_crm(report: SeedReport, today: dt.date, users, entities, customers) -> None:
    """A web form key, leads in every status and an opportunity ready to win."""

    entity = entities["acme-uk"]
    _, created = LeadFormKey.objects.get_or_create(
        legal_entity=entity,
        name="acme-consulting.example contact form",
        defaults={
            "owner": users["maria"],
            # Fixed so the demo's embed snippet keeps working across re-seeds; real keys
            # come from crm.services.lead_form_key_create (secrets.token_urlsafe).
            "key": "demo-acme-uk-web-form-key-0123456789abcdef",
            "allowed_origins": ["https://www.acme-consulting.example"],
            "is_default": not LeadFormKey.objects.filter(is_default=True).exists(),
        },
    )
    report.bump("lead form keys", int(created))

    known = {"northwind.example": "Northwind Traders", "halcyon.example": "Halcyon Health"}
    leads = {}
    for email, name, company, phone, website, status, message, reason in DEMO_LEADS:
        domain = company_domain(email=email, website=website)
        customer = customers.get(known.get(domain, ""))
        lead, created = Lead.objects.get_or_create(
            legal_entity=entity,
            email=email,
            defaults={
                "name": name,
                "company": company,
                "phone": phone,
                "website": website,
                "domain": domain,
                "message": message,
                "source": LeadSource.WEB_FORM,
                "status": status,
                "disqualify_reason": reason,
                "owner": users["maria"],
                "customer": customer,
            },
        )
        if created and status == "converted" and customer is not None:
            lead.contact, _ = Contact.objects.get_or_create(
                customer=customer, email=email, defaults={"name": name, "title": "CTO"}
            )
            lead.save(update_fields=["contact"])
        leads[email] = lead
        report.bump("leads", int(created))

    template = ProjectTemplate.objects.filter(active=True).order_by("pk").first()
    helios = leads["marco@heliossolar.example"]
    for name, lead, customer, stage, value, probability, days in [
        ("Helios Solar data platform discovery", helios, None, "negotiation", "48000", 70, 14),
        ("Northwind forecasting phase 2", leads["lena.park@northwind.example"],
         customers["Northwind Traders"], "proposal", "25000", 40, 45),
    ]:  # fmt: skip
        opp, created = Opportunity.objects.get_or_create(
            legal_entity=entity,
            name=name,
            defaults={
                "lead": lead,
                "customer": customer,
                "stage": stage,
                "value": Decimal(value),
                "currency": entity.functional_currency,
                "probability": probability,
                "expected_close": today + dt.timedelta(days=days),
                "owner": users["maria"],
            },
        )
        if created and template is not None:
            OpportunityPlan.objects.get_or_create(opportunity=opp, defaults={"template": template})
        report.bump("opportunities", int(created))


# --- projects and timesheets: tasks, rates, milestones, templates, policies ------------------

TASKS = [("Analysis", True), ("Build", True), ("Project management", True), ("Internal", False)]
FIRM_RATES = {"acme-uk": ("120", "GBP"), "acme-de": ("110", "EUR")}
# Project defaults by currency; seniors on a project earn a role rate on top.
PROJECT_RATES = {"GBP": "135", "EUR": "125", "USD": "150"}
SENIOR_PREMIUM = Decimal(30)
HOLIDAYS = {
    "acme-uk": [((12, 25), "Christmas Day"), ((12, 26), "Boxing Day"), ((1, 1), "New Year")],
    "acme-de": [((10, 3), "Tag der Deutschen Einheit"), ((12, 25), "1. Weihnachtstag"),
                ((12, 26), "2. Weihnachtstag"), ((1, 1), "Neujahr")],
}  # fmt: skip
REJECTIONS = [
    ("ben", 1, "Tuesday's hours belong on the support retainer, not the rollout."),
    ("hugo", 3, "Please add what you did: the customer asks for notes on every entry."),
]


def _seed_work(report: SeedReport, today: dt.date, users, entities, projects) -> None:
    """Service items, tasks, rate cards (with one change mid-week), milestones, project
    templates, holidays, an approval policy and some rejected time with reasons."""

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

    for code, days in HOLIDAYS.items():
        for year in (today.year, today.year + 1):
            for (month, day), name in days:
                _, made = Holiday.objects.get_or_create(
                    legal_entity=entities[code],
                    date=dt.date(year, month, day),
                    defaults={"name": name},
                )
                report.bump("holidays", int(made))

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

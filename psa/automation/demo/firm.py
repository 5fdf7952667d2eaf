"""Seeding the demo firm: people, legal entities, customers and projects, then the rest."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.db import transaction

from crm.models import Contact, Customer
from ledger.models import LegalEntity
from projects.models import Assignment, Project
from psa.automation.demo.books import seed_books
from psa.automation.demo.data import (
    CONSULTANTS,
    CUSTOMERS,
    ENTITIES,
    MANAGERS,
    PROJECTS,
    WEEKS_OF_TIME,
)
from psa.automation.demo.logins import DEMO_DOMAIN, DEMO_PASSWORD
from psa.automation.demo.pipeline import seed_crm
from psa.automation.demo.report import SeedReport
from psa.automation.demo.time_entries import seed_time
from psa.automation.demo.work import seed_work
from psa.kernel.models import User
from psa.kernel.roles import Role, assign_roles


def seed(*, today: dt.date) -> SeedReport:
    """Create the demo firm; objects that already exist are left as they are."""
    with transaction.atomic():
        report = SeedReport(created={})
        rng = random.Random(20261123)  # noqa: S311 - demo data, not security
        users = _people(report)
        entities = _entities(report)
        customers = _customers(report, rng, users, entities)
        projects = _projects(report, today, users, customers)
        seed_time(report, rng, today, users, projects)
        seed_work(report, today, users, entities, projects)
        seed_crm(report, today, users, entities, customers)
        seed_books(report, today)  # last: it posts the time and rates seeded above
        return report


def _user(report: SeedReport, email: str, first: str, last: str, roles: list[str], **extra: Any):
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, password=DEMO_PASSWORD, first_name=first, last_name=last, **extra
        )
        assign_roles(user, roles)
        report.bump("users")
    return user


def _people(report: SeedReport) -> dict[str, User]:
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
    return users


def _entities(report: SeedReport) -> dict[str, LegalEntity]:
    entities = {}
    for spec in ENTITIES:
        entity, created = LegalEntity.objects.get_or_create(code=spec["code"], defaults=spec)
        entities[spec["code"]] = entity
        report.bump("legal entities", int(created))
    return entities


def _customers(report: SeedReport, rng: random.Random, users, entities) -> dict[str, Customer]:
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
    return customers


def _projects(report: SeedReport, today: dt.date, users, customers) -> list[Project]:
    titles = {key: title for key, _, _, title in CONSULTANTS}
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
    return projects

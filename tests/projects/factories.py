import datetime as dt
from decimal import Decimal

import factory

from projects.models import (
    Assignment,
    Milestone,
    Project,
    ProjectTemplate,
    RateCard,
    RateLevel,
    Task,
)
from tests.crm.factories import CustomerFactory
from tests.psa.factories import UserFactory


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    code = factory.Sequence(lambda n: f"prj-{n}")
    name = factory.Sequence(lambda n: f"Project {n}")
    customer = factory.SubFactory(CustomerFactory)
    legal_entity = factory.SelfAttribute("customer.legal_entity")
    currency = factory.SelfAttribute("customer.currency")
    start_date = dt.date(2026, 1, 1)
    manager = factory.SubFactory(UserFactory, roles=["project_manager"])


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    project = factory.SubFactory(ProjectFactory)
    person = factory.SubFactory(UserFactory, roles=["consultant"])
    role = "Consultant"


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Task {n}")


class RateCardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RateCard

    level = RateLevel.PROJECT
    project = factory.SubFactory(ProjectFactory)
    rate = Decimal("100.00")
    currency = "GBP"
    effective_from = dt.date(2026, 1, 1)


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Milestone

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Milestone {n}")
    amount = Decimal("5000.00")
    planned_date = dt.date(2026, 3, 1)


class ProjectTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProjectTemplate

    code = factory.Sequence(lambda n: f"tpl-{n}")
    name = factory.Sequence(lambda n: f"Template {n}")
    budget_hours = Decimal("100")
    budget_amount = Decimal("12000")

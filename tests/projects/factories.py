import datetime as dt

import factory

from projects.models import Assignment, Project
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

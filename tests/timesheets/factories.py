import datetime as dt
from decimal import Decimal

import factory

from tests.projects.factories import ProjectFactory
from tests.psa.factories import UserFactory
from timesheets.models import ApprovalPolicy, TimeEntry


class TimeEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimeEntry

    person = factory.SubFactory(UserFactory, roles=["consultant"])
    project = factory.SubFactory(ProjectFactory)
    date = dt.date(2026, 11, 16)
    hours = Decimal("8.00")
    note = "Work"


class ApprovalPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApprovalPolicy

    project = factory.SubFactory(ProjectFactory)

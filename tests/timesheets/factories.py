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
    # A project's override stating the rules a policy had before entity defaults: on, at most
    # 10 h a day and 45 h a week, a note on every entry, no newcomer review.
    enabled = True
    max_hours_per_day = Decimal(10)
    max_hours_per_week = Decimal(45)
    note_required = True
    review_first_weeks = 0

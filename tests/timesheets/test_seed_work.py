"""The demo firm's projects and timesheets: tasks, rates, milestones, templates, a policy,
and rejected time with reasons — all idempotent."""

import datetime as dt
from decimal import Decimal

import pytest

from projects.models import Milestone, Project, ProjectTemplate, RateCard, Task
from projects.selectors import project_figures, rate_resolve
from psa.automation.demo.firm import seed
from psa.kernel.models import User
from timesheets.models import ApprovalPolicy, Holiday, TimeEntry

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 25)  # a Wednesday


def test_the_demo_work_data():
    seed(today=TODAY)
    erp = Project.objects.get(code="nw-erp")
    assert set(Task.objects.filter(project=erp).values_list("name", flat=True)) == {
        "Analysis",
        "Build",
        "Project management",
        "Internal",
    }
    alice = User.objects.get(email="alice@demo.psa.test")
    change = dt.date(2026, 10, 28)  # the Wednesday four weeks before this week
    assert rate_resolve(project=erp, person=alice, on=change - dt.timedelta(1)) == Decimal(170)
    assert rate_resolve(project=erp, person=alice, on=change) == Decimal(185)
    # Every project has a rate, so all demo time has a value.
    for project in Project.objects.all():
        assert project_figures(project)["unpriced_hours"] == 0
    assert Milestone.objects.filter(project__billing_model="fixed_price").count() == 6
    assert ProjectTemplate.objects.filter(code="fixed-discovery").get().milestones.count() == 3
    assert ApprovalPolicy.objects.get(project__isnull=False).project.code == "nw-sup"
    defaults = ApprovalPolicy.objects.filter(legal_entity__isnull=False)
    assert defaults.count() == 2 and all(p.enabled for p in defaults)  # each demo entity
    assert Holiday.objects.filter(date=dt.date(2026, 12, 25)).count() == 2
    rejected = TimeEntry.objects.filter(status="rejected")
    assert rejected.exists()
    assert all(e.rejection_reason for e in rejected)


def test_seeding_the_work_data_twice_changes_nothing():
    seed(today=TODAY)
    counts = [
        m.objects.count() for m in (Task, RateCard, Milestone, ProjectTemplate, Holiday, TimeEntry)
    ]
    assert seed(today=TODAY).created == {}
    assert counts == [
        m.objects.count() for m in (Task, RateCard, Milestone, ProjectTemplate, Holiday, TimeEntry)
    ]

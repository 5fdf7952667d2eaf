import datetime as dt

import pytest

from tests.timesheets.factories import ApprovalPolicyFactory, TimeEntryFactory
from timesheets.models import TimeEntry
from timesheets.tasks import auto_approve_submitted, week_auto_approve_task

pytestmark = pytest.mark.django_db

MON = dt.date(2026, 11, 16)


def test_the_task_applies_the_policy_by_primary_key(consultant, project):
    ApprovalPolicyFactory(project=project)
    TimeEntryFactory(person=consultant, project=project, date=MON, status="submitted")
    assert week_auto_approve_task(consultant.pk, MON.isoformat()) == 1
    assert TimeEntry.objects.get().status == "approved"
    assert week_auto_approve_task(consultant.pk, MON.isoformat()) == 0
    assert week_auto_approve_task(0, MON.isoformat()) == 0  # a person since removed


def test_the_sweep_queues_one_task_per_person_week(consultant, project, monkeypatch):
    sent = []
    monkeypatch.setattr(week_auto_approve_task, "delay", lambda *args: sent.append(args))
    for day in (MON, MON + dt.timedelta(1), MON + dt.timedelta(7)):
        TimeEntryFactory(person=consultant, project=project, date=day, status="submitted")
    TimeEntryFactory(person=consultant, project=project, date=MON + dt.timedelta(14))  # a draft
    assert auto_approve_submitted() == 2
    assert sent == [
        (consultant.pk, "2026-11-16"),
        (consultant.pk, "2026-11-23"),
    ]

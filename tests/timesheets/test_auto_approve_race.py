"""Two auto-approve runs on the same week at once (a duplicated beat): each entry is
approved and recorded once. The control shows the race is real without the claim."""

import contextlib
import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from psa.kernel.models import AuditEvent
from tests.timesheets.factories import ApprovalPolicyFactory, TimeEntryFactory
from timesheets.models import EntryStatus, TimeEntry
from timesheets.services import approvals, week_auto_approve

pytestmark = pytest.mark.django_db(transaction=True)

MON = dt.date(2026, 11, 16)


def _race(consultant, monkeypatch) -> list[int]:
    barrier = threading.Barrier(2)
    real_failures = approvals.policy_failures

    def check_then_meet(*args, **kwargs):
        failures = real_failures(*args, **kwargs)
        # Both runs have read the week as submitted and found every rule holds.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)
        return failures

    monkeypatch.setattr(approvals, "policy_failures", check_then_meet)
    approved: list[int] = []

    def run():
        try:
            decisions = week_auto_approve(person=consultant, week_start=MON, now=timezone.now())
            approved.append(sum(d.entries for d in decisions))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(approved)


@pytest.fixture
def week(consultant, project):
    ApprovalPolicyFactory(project=project)
    for day in range(3):
        TimeEntryFactory(
            person=consultant,
            project=project,
            date=MON + dt.timedelta(days=day),
            status=EntryStatus.SUBMITTED,
        )


def test_two_runs_at_once_approve_each_entry_once(consultant, week, monkeypatch):
    assert _race(consultant, monkeypatch) == [0, 3]
    assert set(TimeEntry.objects.values_list("status", flat=True)) == {"approved"}
    assert AuditEvent.objects.filter(action="time_entry.approved").count() == 3


def test_control_without_the_claim_both_runs_approve(consultant, week, monkeypatch):
    def claim_everything(ids, now):
        TimeEntry.objects.filter(pk__in=ids).update(status=EntryStatus.APPROVED)
        return set(ids)

    monkeypatch.setattr(approvals, "_claim", claim_everything)
    assert _race(consultant, monkeypatch) == [3, 3]
    assert AuditEvent.objects.filter(action="time_entry.approved").count() == 6

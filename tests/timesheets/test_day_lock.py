"""Two requests adding time to the same day at once: the lock on the person keeps the day at
24 hours or less. The control shows the race is real when the lock is taken away."""

import contextlib
import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from tests.projects.factories import ProjectFactory
from timesheets.models import TimeEntry
from timesheets.services import time_entry_save, weeks

pytestmark = pytest.mark.django_db(transaction=True)

DAY = dt.date(2026, 11, 16)


def _race(consultant, projects, monkeypatch) -> list[str]:
    barrier = threading.Barrier(2)
    real_total = weeks._day_total

    def total_then_meet(*args, **kwargs):
        total = real_total(*args, **kwargs)
        # Let both requests read the day before either writes, if nothing stops them.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=2)
        return total

    monkeypatch.setattr(weeks, "_day_total", total_then_meet)
    outcomes: list[str] = []

    def work(project):
        try:
            time_entry_save(
                actor=consultant, person=consultant, project=project, date=DAY, hours="13"
            )
            outcomes.append("saved")
        except Exception as exc:  # the outcome is what we look at
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(p,)) for p in projects]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(outcomes)


def test_the_day_limit_holds_under_concurrency(consultant, monkeypatch):
    projects = [ProjectFactory(allow_all_users=True) for _ in range(2)]
    assert _race(consultant, projects, monkeypatch) == ["ValidationFailed", "saved"]
    assert TimeEntry.objects.aggregate(t=Sum("hours"))["t"] == Decimal("13")


def test_control_without_the_lock_the_day_overflows(consultant, monkeypatch):
    monkeypatch.setattr(weeks, "_lock_person", lambda person: None)
    projects = [ProjectFactory(allow_all_users=True) for _ in range(2)]
    assert _race(consultant, projects, monkeypatch) == ["saved", "saved"]
    assert TimeEntry.objects.aggregate(t=Sum("hours"))["t"] == Decimal("26")

"""Tasks of the timesheets app (see STYLE.md: thin Celery tasks that call services).

The beat entry that runs the sweep arrives with the touch-free work; both tasks are safe to
run twice or concurrently because week_auto_approve claims entries with a conditional UPDATE.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.contrib.auth import get_user_model
from django.utils import timezone

from timesheets.models import EntryStatus, TimeEntry
from timesheets.selectors import week_start
from timesheets.services import week_auto_approve


@shared_task(name="timesheets.tasks.week_auto_approve", ignore_result=True)
def week_auto_approve_task(person_id: int, monday: str) -> int:
    """Apply the approval policies to one person's submitted week; returns entries approved."""
    person = get_user_model().objects.filter(pk=person_id).first()
    if person is None:
        return 0
    decisions = week_auto_approve(
        person=person, week_start=dt.date.fromisoformat(monday), now=timezone.now()
    )
    return sum(d.entries for d in decisions if d.approved)


@shared_task(name="timesheets.tasks.auto_approve_submitted", ignore_result=True)
def auto_approve_submitted() -> int:
    """Queue one week_auto_approve_task per person-week with submitted time."""
    pairs = {
        (person_id, week_start(day))
        for person_id, day in TimeEntry.objects.filter(status=EntryStatus.SUBMITTED)
        .values_list("person_id", "date")
        .distinct()
    }
    for person_id, monday in sorted(pairs):
        week_auto_approve_task.delay(person_id, monday.isoformat())
    return len(pairs)

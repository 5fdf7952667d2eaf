"""Twelve weeks of believable time for the demo's consultants and managers."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from projects.models import Assignment
from psa.automation.demo.data import NOTES, WEEKS_OF_TIME
from psa.automation.demo.report import SeedReport
from timesheets.models import EntryStatus, TimeEntry
from timesheets.selectors import week_start


def seed_time(report: SeedReport, rng: random.Random, today: dt.date, users, projects) -> None:
    """Twelve weeks of believable time for each consultant and manager who has none yet.

    Weeks before last week are approved; last week is submitted; this week is a draft up to
    yesterday. Days hold 7-8.5 hours split over the person's projects.
    """

    this_monday = week_start(today)
    first_monday = this_monday - dt.timedelta(weeks=WEEKS_OF_TIME - 1)
    people_with_time = set(
        TimeEntry.objects.filter(date__gte=first_monday).values_list("person_id", flat=True)
    )
    project_ids = [p.id for p in projects]
    by_person: dict[int, list[int]] = {}
    for person_id, project_id in Assignment.objects.filter(project_id__in=project_ids).values_list(
        "person_id", "project_id"
    ):
        by_person.setdefault(person_id, []).append(project_id)

    entries = []
    for user in sorted(users.values(), key=lambda u: u.email):
        if user.id in people_with_time or user.id not in by_person:
            continue
        mine = sorted(by_person[user.id])
        day = first_monday
        while day < today:
            if day.weekday() < 5 and rng.random() > 0.04:  # weekdays, the odd day off
                status = (
                    EntryStatus.APPROVED
                    if day < this_monday - dt.timedelta(weeks=1)
                    else EntryStatus.SUBMITTED
                    if day < this_monday
                    else EntryStatus.DRAFT
                )
                remaining = Decimal(rng.choice(["7", "7.5", "8", "8", "8.5"]))
                picks = rng.sample(mine, k=min(len(mine), rng.choice([1, 1, 2])))
                for n, project_id in enumerate(picks):
                    hours = (
                        remaining if n == len(picks) - 1 else Decimal(rng.choice(["2", "3", "4"]))
                    )
                    remaining -= hours
                    entries.append(
                        TimeEntry(
                            person=user,
                            project_id=project_id,
                            date=day,
                            hours=hours,
                            note=rng.choice(NOTES),
                            billable=rng.random() > 0.1,
                            status=status,
                        )
                    )
            day += dt.timedelta(days=1)
    TimeEntry.objects.bulk_create(entries, batch_size=1000)
    report.bump("time entries", len(entries))

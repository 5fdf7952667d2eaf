"""Run a simulated firm through the real beat jobs and print what it needed (demo and tests:
the product's clock must be movable, CLOCK_CONTROL on)."""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from psa.automation.simulator import Plan, SimulatorRefused, simulate
from psa.automation.simulator_report import report_build, report_lines


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--start: “{text}” is not a date like 2026-11-02.") from None


class Command(BaseCommand):
    help = "Simulate a firm for some days through the real beat jobs and report on it."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--consultants", type=int, required=True)
        parser.add_argument("--days", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--start", type=_date, default=None, help="YYYY-MM-DD")
        parser.add_argument(
            "--overload",
            default="",
            help="CONSULTANT:WEEK (from 0): that consultant logs 50 h that week",
        )

    def handle(self, *args, consultants, days, seed, start, overload, **options):  # type: ignore[no-untyped-def]
        overloaded = None
        if overload:
            try:
                who, week = (int(part) for part in overload.split(":"))
            except ValueError:
                raise CommandError("--overload: give CONSULTANT:WEEK, e.g. 0:1.") from None
            overloaded = (who, week)
        plan = Plan(consultants=consultants, days=days, seed=seed, start=start,
                    overload=overloaded)  # fmt: skip
        began, since = time.monotonic(), timezone.now()
        try:
            firm, events, last = simulate(plan)
        except SimulatorRefused as exc:
            raise CommandError(str(exc)) from exc
        report = report_build(firm=firm, events=events, as_of=last, since=since)
        self.stdout.write(
            f"{firm.entity.name} ({firm.entity.code}): {consultants} consultants, "
            f"{days} days to {last:%d %b %Y}."
        )
        for line in report_lines(report, seconds=time.monotonic() - began):
            self.stdout.write(line)

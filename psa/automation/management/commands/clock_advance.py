"""Demo only: move the product's clock forward and run the day's cycle, so a visitor can
watch time turn into invoices, payments and books without waiting for tomorrow."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from psa.automation.cycle import run_daily
from psa.kernel import clock


class Command(BaseCommand):
    help = "Advance the demo clock (default one day) and run the daily zero-touch jobs."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--days", type=int, default=1)
        parser.add_argument(
            "--no-run", action="store_true", help="Only move the clock; the beat runs the jobs."
        )

    def handle(self, *args, days: int, no_run: bool, **options):  # type: ignore[no-untyped-def]

        if days < 1:
            raise CommandError("--days must be at least 1.")
        try:
            clock.advance(days=days)
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"The clock now reads {clock.today():%A %d %B %Y}.")
        if no_run:
            return
        for job, counts in run_daily():
            self.stdout.write(
                f"  {job:<20} done {counts['processed']}, skipped {counts['skipped']}, "
                f"failed {counts['failed']}"
            )

from django.core.management.base import BaseCommand

from psa.automation.demo import DEMO_LOGINS, DEMO_PASSWORD
from psa.automation.demo.firm import seed
from psa.kernel import clock


class Command(BaseCommand):
    help = "Load the demo firm (idempotent: running it again creates no duplicates)."

    def handle(self, *args, **options) -> None:
        report = seed(today=clock.today())
        if report.created:
            made = ", ".join(f"{n} {kind}" for kind, n in report.created.items())
            self.stdout.write(self.style.SUCCESS(f"Demo data created: {made}."))
        else:
            self.stdout.write("Demo data already present; nothing created.")
        logins = ", ".join(email for _, email in DEMO_LOGINS)
        self.stdout.write(f"Demo logins ({logins}), password: {DEMO_PASSWORD}")

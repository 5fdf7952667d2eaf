"""The demo firm's logins: importable without Django (the run command prints them)."""

from __future__ import annotations

DEMO_PASSWORD = "demo"  # noqa: S105 - the demo firm's published password

DEMO_DOMAIN = "demo.psa.test"

# One login per role, printed by the run command.
DEMO_LOGINS: list[tuple[str, str]] = [
    ("consultant", f"alice@{DEMO_DOMAIN}"),
    ("project manager", f"maria@{DEMO_DOMAIN}"),
    ("finance", f"fiona@{DEMO_DOMAIN}"),
    ("admin", f"admin@{DEMO_DOMAIN}"),
]

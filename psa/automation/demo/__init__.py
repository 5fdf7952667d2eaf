"""The demo firm loaded by ``manage.py seed_demo`` (and by the run command).

Idempotent: every object is looked up by a natural key first, so a second run creates no
duplicates. Random choices come from a fixed seed, so every machine gets the same firm.

``data`` holds the firm as tables; ``firm.seed`` walks them: people, entities, customers and
projects (``firm``), twelve weeks of time (``time_entries``), tasks, rates, milestones,
templates and policies (``work``), leads and opportunities (``crm``), and the books, billing
set-up and automation policies (``books``). This package's ``__init__`` imports no model, so
the run command can print ``DEMO_LOGINS`` before Django is set up.
"""

from psa.automation.demo.logins import DEMO_DOMAIN, DEMO_LOGINS, DEMO_PASSWORD

__all__ = ["DEMO_DOMAIN", "DEMO_LOGINS", "DEMO_PASSWORD"]

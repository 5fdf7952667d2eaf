"""billing 0008: the backfill of per-entry WIP accruals for time approved before them."""

import datetime as dt
import importlib
from decimal import Decimal as D
from types import SimpleNamespace

from django.db import connection

from billing.services import billing_run_execute, invoice_void
from tests.billing.test_wip_clears import MONDAY, _approve_day_by_day, _bill, _project, tb
from timesheets.models import TimeEntry


def test_the_backfill_gives_approved_uninvoiced_entries_what_the_books_hold(
    transactional_db, project_manager, consultant, finance
):
    """billing 0008: entries approved before per-entry accruals get shares that sum exactly to
    the project's WIP in the books, here after an invoice was voided (its entries are released
    but frozen: billed once), and billing them then clears WIP to zero. Committed as it goes,
    as a migration finds the data."""
    backfill = importlib.import_module("billing.migrations.0014_wip_accrued_per_entry").backfill
    project = _project(project_manager, consultant, "EUR", "97.35", "0.8537")
    _approve_day_by_day(project, consultant, project_manager)
    entity = project.legal_entity
    invoice_void(invoice=_bill(project), actor=finance, reason="Wrong PO")
    wip = tb(entity)["unbilled_revenue"]
    assert wip == D("2015.37")
    with connection.cursor() as cur:  # as the data stood before the migration
        cur.execute("ALTER TABLE timesheets_timeentry DISABLE TRIGGER time_entry_billed_frozen")
        cur.execute(
            "UPDATE timesheets_timeentry SET accrued_amount = NULL, accrued_functional = NULL"
        )
        cur.execute("ALTER TABLE timesheets_timeentry ENABLE TRIGGER time_entry_billed_frozen")

    backfill(None, SimpleNamespace(connection=connection))

    entries = TimeEntry.objects.filter(project=project)
    assert sum(e.accrued_functional for e in entries) == wip
    assert sum(e.accrued_amount for e in entries) == D("2360.75")
    _bill_again = billing_run_execute(
        legal_entity=entity, period_end=MONDAY + dt.timedelta(days=6), actor_label="t", issue=True
    )
    assert _bill_again.invoices_created == 1
    assert "unbilled_revenue" not in tb(entity)

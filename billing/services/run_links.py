"""A billing run's time and links: the snapshot of the time it bills (locked, with its rates,
in a temporary table) and the bulk writes that link entries, expenses, milestones and fee
periods to the invoice lines that bill them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    QuerySet,
)

from billing.models import (
    ExpenseBilling,
    LineKind,
    MilestoneBilling,
    ScheduleBilling,
)
from billing.selectors import approved_unbilled_time
from ledger.models import LegalEntity
from projects.selectors import entry_rate
from timesheets.services.billing_links import time_entries_mark_billed


def unbilled_time(
    *,
    legal_entity: LegalEntity,
    period_end: dt.date,
    customer: Any = None,
    project: Any = None,
    exclude_projects: tuple[int, ...] = (),
) -> QuerySet:
    """Approved, billable time of T&M and prepaid-fund projects through ``period_end`` that no
    active link bills yet, each row annotated with its resolved hourly rate (in SQL)."""

    qs = approved_unbilled_time().filter(date__lte=period_end, project__legal_entity=legal_entity)
    if customer is not None:
        qs = qs.filter(project__customer=customer)
    if project is not None:
        qs = qs.filter(project=project)
    if exclude_projects:
        qs = qs.exclude(project_id__in=exclude_projects)
    return qs.annotate(rate=entry_rate())


def others_link(links: dict[str, Any]) -> None:
    """Link expenses, milestones and fee periods to their lines, in bulk. The partial unique
    indexes make a second active link impossible, so a concurrent run fails instead of
    billing twice."""
    ExpenseBilling.objects.bulk_create(
        ExpenseBilling(expense_id=pk, line_id=line) for pk, line in links["expense"]
    )
    MilestoneBilling.objects.bulk_create(
        MilestoneBilling(milestone_id=pk, line_id=line) for pk, line in links["milestone"]
    )
    ScheduleBilling.objects.bulk_create(
        ScheduleBilling(fee_id=fee, period_start=start, part=part, line_id=line)
        for (fee, start, part), line in links["schedule"]
    )


def time_snapshot(
    legal_entity: LegalEntity,
    period_end: dt.date,
    customer: Any,
    project: Any,
    exclude_projects: tuple[int, ...] = (),
) -> list[tuple]:
    """Lock the entries this run bills and copy them, with their rates, to a temporary table;
    return their groups. Everything after works from this snapshot, so time approved while
    the run is under way waits for the next run instead of slipping onto a line unpriced."""
    entries = (
        unbilled_time(
            legal_entity=legal_entity,
            period_end=period_end,
            customer=customer,
            project=project,
            exclude_projects=exclude_projects,
        )
        .exclude(rate=None)
        .values(
            "id",
            "project_id",
            "project__customer_id",
            "project__currency",
            "project__billing_model",
            "rate",
            "hours",
        )
    )
    sql, params = entries.query.sql_with_params()
    with connection.cursor() as cur:
        # Several runs may share one transaction (the demo seed): start from a fresh table.
        cur.execute("DROP TABLE IF EXISTS billing_run_entries")
        cur.execute(
            "CREATE TEMP TABLE billing_run_entries (id bigint PRIMARY KEY, project_id bigint, "
            "customer_id bigint, currency varchar(3), billing_model varchar(20), rate numeric, "
            "hours numeric) ON COMMIT DROP"
        )
        cur.execute(
            f"INSERT INTO billing_run_entries {sql} FOR UPDATE OF timesheets_timeentry",
            params,
        )
        cur.execute(
            "SELECT customer_id, currency, project_id, billing_model, rate, sum(hours), count(*) "
            "FROM billing_run_entries GROUP BY customer_id, currency, project_id, billing_model, "
            "rate"
        )
        return cur.fetchall()


def time_link(lines_by_key: dict[tuple[int, int, Decimal], int]) -> int:
    """One INSERT … SELECT links every snapshotted entry to its line; one UPDATE freezes the
    entries billed for the first time."""
    if not lines_by_key:
        with connection.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS billing_run_entries")
        return 0
    values = ", ".join(["(%s, %s, %s::numeric, %s)"] * len(lines_by_key))
    params = [
        v for (cust, proj, rate), line in lines_by_key.items() for v in (cust, proj, rate, line)
    ]
    with connection.cursor() as cur:
        cur.execute(
            f"""
            INSERT INTO billing_timeentrybilling (time_entry_id, line_id)
            SELECT e.id, l.line_id
              FROM billing_run_entries e
              JOIN (VALUES {values}) AS l (customer_id, project_id, rate, line_id)
                ON l.customer_id = e.customer_id AND l.project_id = e.project_id
               AND l.rate = e.rate
            """,  # noqa: S608 - only placeholders are interpolated
            params,
        )
        linked = cur.rowcount
        # A time line relieves exactly the WIP its entries accrued at approval, in both
        # currencies; the difference to its net is a write-up or -down (rules.InvoicePart).
        cur.execute(
            """
            UPDATE billing_invoiceline l
               SET accrued = s.amount, accrued_functional = s.functional
              FROM (SELECT b.line_id, coalesce(sum(t.accrued_amount), 0) AS amount,
                           coalesce(sum(t.accrued_functional), 0) AS functional
                      FROM billing_run_entries e
                      JOIN billing_timeentrybilling b
                        ON b.time_entry_id = e.id AND b.released_at IS NULL
                      JOIN timesheets_timeentry t ON t.id = e.id
                     GROUP BY b.line_id) s
             WHERE l.id = s.line_id AND l.kind = %s
            """,
            [LineKind.TIME],
        )
        time_entries_mark_billed(entries_table="billing_run_entries")
        cur.execute("DROP TABLE billing_run_entries")
    return linked

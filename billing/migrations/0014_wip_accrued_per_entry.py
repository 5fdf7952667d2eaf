"""WIP relieved per entry: invoice lines carry the functional value of the WIP they relieve,
and already-approved, not yet invoiced entries get their share of what the books hold.

Backfill: per T&M project, the balance of the unbilled-revenue account tagged with the project
(in the project's currency and in the functional one) is what its approved, not yet invoiced
entries accrued. It is split over those entries (unlinked ones and those on draft invoices) in
proportion to their hours, by largest remainder, so the shares sum exactly to the books; then
draft time lines take the sum of their entries. A billed entry's row is frozen by a trigger,
which is switched off for this one UPDATE (entries on drafts, or released by a credit note, are
billed already). Backwards, the columns go.
"""

from collections import defaultdict
from decimal import Decimal

from django.db import migrations, models

from psa.kernel.money import allocate

_WIP = """
    SELECT p.id, p.currency, le.functional_currency,
           coalesce(sum(jl.amount_currency), 0), coalesce(sum(jl.debit - jl.credit), 0)
      FROM projects_project p
      JOIN ledger_legalentity le ON le.id = p.legal_entity_id
      JOIN ledger_rolemapping rm ON rm.legal_entity_id = le.id AND rm.role = 'unbilled_revenue'
      JOIN ledger_journalline jl ON jl.account_id = rm.account_id AND jl.project_id = p.id
     GROUP BY p.id, p.currency, le.functional_currency
"""
_OPEN_ENTRIES = """
    SELECT t.project_id, t.id, t.hours
      FROM timesheets_timeentry t
      JOIN projects_project p ON p.id = t.project_id
     WHERE t.status = 'approved' AND t.billable AND p.billing_model = 'time_and_materials'
       AND NOT EXISTS (
           SELECT 1 FROM billing_timeentrybilling b
             JOIN billing_invoiceline l ON l.id = b.line_id
             JOIN billing_invoice i ON i.id = l.invoice_id
            WHERE b.time_entry_id = t.id AND b.released_at IS NULL AND i.status <> 'draft')
     ORDER BY t.project_id, t.id
"""
_DRAFT_LINES = """
    UPDATE billing_invoiceline l
       SET accrued = s.amount, accrued_functional = s.functional
      FROM (SELECT b.line_id, coalesce(sum(t.accrued_amount), 0) AS amount,
                   coalesce(sum(t.accrued_functional), 0) AS functional
              FROM billing_timeentrybilling b
              JOIN timesheets_timeentry t ON t.id = b.time_entry_id
             WHERE b.released_at IS NULL
             GROUP BY b.line_id) s, billing_invoice i
     WHERE l.id = s.line_id AND i.id = l.invoice_id AND i.status = 'draft' AND l.kind = 'time'
"""


def backfill(apps, schema_editor):
    with schema_editor.connection.cursor() as cur:
        cur.execute(_WIP)
        wip = {row[0]: row[1:] for row in cur.fetchall()}
        cur.execute(_OPEN_ENTRIES)
        entries: dict[int, list[tuple[int, Decimal]]] = defaultdict(list)
        for project_id, pk, hours in cur.fetchall():
            entries[project_id].append((pk, hours))
        updates = []
        for project_id, rows in entries.items():
            currency, functional_currency, amount, functional = wip.get(
                project_id, ("XXX", "XXX", Decimal(0), Decimal(0))
            )
            weights = [hours for _, hours in rows]
            amounts = allocate(amount, weights, currency)
            functionals = allocate(functional, weights, functional_currency)
            updates += [
                (a, f, pk) for (pk, _), a, f in zip(rows, amounts, functionals, strict=True)
            ]
        if not updates:
            return
        # Deferred checks still pending on the table would make ALTER TABLE fail: run them.
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("ALTER TABLE timesheets_timeentry DISABLE TRIGGER time_entry_billed_frozen")
        cur.executemany(
            "UPDATE timesheets_timeentry SET accrued_amount = %s, accrued_functional = %s "
            "WHERE id = %s",
            updates,
        )
        cur.execute("ALTER TABLE timesheets_timeentry ENABLE TRIGGER time_entry_billed_frozen")
        cur.execute(_DRAFT_LINES)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0013_overage_accrual_three_decimals"),
        ("timesheets", "0008_time_entry_accrued_amounts"),
        ("ledger", "0006_letterhead"),
    ]

    operations = [
        migrations.AddField(
            model_name="invoiceline",
            name="accrued_functional",
            field=models.DecimalField(blank=True, decimal_places=3, max_digits=15, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]

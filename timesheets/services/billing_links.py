"""What billing may change on time entries: the moment an entry was first billed.

Billing (a higher floor) calls this inside its own transaction; the write to
``timesheets_timeentry`` belongs here, with the table it changes. Import it from this module.
"""

from __future__ import annotations

from django.db import connection


def time_entries_mark_billed(*, entries_table: str) -> int:
    """Freeze the entries listed (by ``id``) in ``entries_table`` — a temporary table of the
    caller's transaction — that are billed for the first time; returns how many were marked.

    One set-based UPDATE: a billing run links thousands of entries at once. An entry billed
    before (then credited and billed again) keeps its first ``billed_at``.
    """
    table = connection.ops.quote_name(entries_table)
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE timesheets_timeentry t SET billed_at = now() FROM {table} e "  # noqa: S608 - a quoted identifier
            "WHERE t.id = e.id AND t.billed_at IS NULL"
        )
        return cur.rowcount

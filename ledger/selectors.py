"""Selectors of the ledger app (see STYLE.md: reusable reads, scoped to the caller)."""

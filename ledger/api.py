"""Api of the ledger app (see STYLE.md: DRF views that delegate to services)."""

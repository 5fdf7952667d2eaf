"""Views of the ledger app (see STYLE.md: HTML/htmx function views)."""

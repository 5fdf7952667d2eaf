"""Selectors of the crm app (see STYLE.md: reusable reads, scoped to the caller)."""

"""Selectors of the billing app (see STYLE.md: reusable reads, scoped to the caller)."""

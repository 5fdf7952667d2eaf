"""Api of the billing app (see STYLE.md: DRF views that delegate to services)."""

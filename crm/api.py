"""Api of the crm app (see STYLE.md: DRF views that delegate to services)."""

"""Api of the timesheets app (see STYLE.md: DRF views that delegate to services)."""

"""Api of the projects app (see STYLE.md: DRF views that delegate to services)."""

"""Views of the timesheets app (see STYLE.md: HTML/htmx function views)."""

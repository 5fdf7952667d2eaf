"""Views of the projects app (see STYLE.md: HTML/htmx function views)."""

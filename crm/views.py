"""Views of the crm app (see STYLE.md: HTML/htmx function views)."""

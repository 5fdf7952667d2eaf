"""Views of the billing app (see STYLE.md: HTML/htmx function views)."""

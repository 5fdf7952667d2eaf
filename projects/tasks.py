"""Tasks of the projects app (see STYLE.md: thin Celery tasks that call services)."""

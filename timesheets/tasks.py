"""Tasks of the timesheets app (see STYLE.md: thin Celery tasks that call services)."""

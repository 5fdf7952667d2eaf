"""Tasks of the billing app (see STYLE.md: thin Celery tasks that call services)."""

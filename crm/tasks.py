"""Tasks of the crm app (see STYLE.md: thin Celery tasks that call services)."""

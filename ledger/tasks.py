"""Tasks of the ledger app (see STYLE.md: thin Celery tasks that call services)."""

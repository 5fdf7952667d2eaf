"""Sending Celery tasks only once the surrounding transaction has committed."""

from __future__ import annotations

from typing import Any

from celery import Task
from django.db import transaction


def enqueue_on_commit(task: Task, *args: Any, using: str | None = None, **kwargs: Any) -> None:
    """Send ``task`` with these arguments once the current transaction commits.

    Outside a transaction it is sent at once; if the transaction rolls back, never. A worker
    therefore never sees a row that was rolled back or not yet visible.
    """
    transaction.on_commit(lambda: task.apply_async(args=args, kwargs=kwargs), using=using)

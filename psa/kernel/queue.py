"""Sending Celery tasks only once the surrounding transaction has committed."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)


def enqueue_on_commit(task: Task, *args: Any, using: str | None = None, **kwargs: Any) -> None:
    """Send ``task`` with these arguments once the current transaction commits.

    Outside a transaction it is sent at once; if the transaction rolls back, never. A worker
    therefore never sees a row that was rolled back or not yet visible.
    """
    transaction.on_commit(lambda: _send(task, args, kwargs), using=using)


def _send(task: Task, args: tuple, kwargs: dict[str, Any]) -> None:
    # The change has committed: if the broker (Redis) is down, failing the request now would
    # only make the person repeat a change that is already saved. The error log says what was
    # not queued; the beat sweeps pick up deliveries, outbox messages and Stripe events.
    try:
        task.apply_async(args=args, kwargs=kwargs)
    except OperationalError:
        log.error("task %s%r was not queued: the broker is down", task.name, args, exc_info=True)

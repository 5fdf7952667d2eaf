"""Sending Celery tasks only once the surrounding transaction has committed."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.db import transaction
from kombu.exceptions import KombuError

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
    except (KombuError, OSError):
        log.error("task %s%r was not queued: the broker is down", task.name, args, exc_info=True)


def nudge_on_commit(task: Task, *args: Any, using: str | None = None) -> None:
    """Queue ``task`` after commit as a fast path only: the work is durable in the database
    and a beat sweep does it anyway. If the broker (Redis) is down, the failure is logged and
    the request that committed still succeeds; nothing is lost."""

    def send() -> None:
        try:
            if task.app.conf.task_always_eager:
                task.apply_async(args=args)
                return
            with task.app.pool.acquire(block=True) as conn:
                # One try, no retries: with the broker down, fail in a fraction of a second
                # instead of holding the request for kombu's retries (about 6 s).
                conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0)
                task.apply_async(args=args, connection=conn, retry=False)
        except (KombuError, OSError):  # the broker is unreachable: the sweep sends it later
            log.warning("broker down: %s%r left to the sweep", task.name, args, exc_info=True)

    transaction.on_commit(send, using=using)

"""The Celery app and the one beat schedule for the whole product.

Tasks are thin: they take primary keys, call a service, and own their retries. They are sent
only after the surrounding transaction commits (``psa.kernel.queue.enqueue_on_commit``), so a
worker never sees a row that was rolled back or not yet visible.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, Task
from celery.schedules import crontab
from celery.signals import before_task_publish, task_postrun, task_prerun

from psa.kernel import correlation

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psa.settings.dev")

# DjangoTask adds delay_on_commit()/apply_async_on_commit() to every task.
app = Celery("psa", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The one schedule. Every scheduled job must be safe to run twice, or twice at once: beat
# may fire twice (two beat processes, a restart) and acks_late re-delivers after a crash.
HOUSEKEEPING = {
    "worker-heartbeat": {
        "task": "psa.automation.tasks.heartbeat",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "clear-expired-sessions": {
        "task": "psa.automation.tasks.clear_expired_sessions",
        "schedule": crontab(hour=3, minute=17),
    },
}

# The zero-touch cycle (psa.automation.cycle, DOMAIN.md's jobs table). Each job decides per
# item by the automation policies and takes the day from psa.kernel.clock. CYCLE_INTERVAL
# (seconds) runs them all on a short interval instead: the demo's clock advance and the
# acceptance test use it.
CYCLE = {
    "auto-approve": ("psa.automation.tasks.auto_approve", crontab(minute="*/5")),
    "release-milestones": ("psa.automation.tasks.release_milestones", crontab(hour=1, minute=5)),
    "billing-calendar": ("psa.automation.tasks.billing_calendar", crontab(hour=2, minute=5)),
    "issue-and-send": ("psa.automation.tasks.issue_and_send", crontab(minute="*/15")),
    # Daily, idempotent, catching up after a gap: each month's share dated in its month.
    "recognise-revenue": ("psa.automation.tasks.recognise_revenue", crontab(hour=3, minute=35)),
    # Daily: unbilled retainer overage of periods that ended, accrued on their last day.
    "accrue-overage": ("psa.automation.tasks.accrue_overage", crontab(hour=3, minute=45)),
    # Payments (psa.automation.sweeps over billing's services): billing claims each item of
    # work with a unique row (attempt, reminder, event id), so overlapping runs are harmless.
    "collect-due": ("psa.automation.tasks.collect_due", crontab(minute="*/15")),
    "dunning": ("psa.automation.tasks.dunning_run", crontab(hour=8, minute=5)),
    "reconcile-payment-attempts": (
        "psa.automation.tasks.reconcile_attempts",
        crontab(minute="*/10"),
    ),
    "stripe-events-pending": ("psa.automation.tasks.process_pending_stripe_events", 300.0),
    # Deliveries: each message claimed before it is sent (psa.kernel.delivery).
    "deliver-outbox": ("psa.automation.tasks.deliver_due_outbox", 60.0),
    "deliver-webhooks": ("psa.automation.tasks.deliver_due_webhooks", 60.0),
    # Outgoing e-mail (psa.kernel.mail): the durable outbox's sweep, each row SKIP LOCKED.
    "send-mail": ("psa.automation.tasks.send_due_mail", 60.0),
}


def _expiry(when: Any) -> float:
    """A message not taken within its own period is dropped: the next one does the work."""
    return 0.9 * when if isinstance(when, float) else 540.0


def _cycle_schedule() -> dict[str, dict[str, Any]]:
    interval = float(os.environ.get("CYCLE_INTERVAL") or 0)
    return {
        name: {
            "task": task,
            "schedule": interval or when,
            "options": {"expires": interval * 0.9 if interval else _expiry(when)},
        }
        for name, (task, when) in CYCLE.items()
    }


# Assigned once, never read here: reading app.conf at import would load Django's settings
# before the dev tools have started the embedded services.
app.conf.beat_schedule = {**HOUSEKEEPING, **_cycle_schedule()}


CORRELATION_HEADER = "correlation_id"


@before_task_publish.connect
def _add_correlation_header(headers: dict[str, Any] | None = None, **_: Any) -> None:
    if headers is not None and not headers.get(CORRELATION_HEADER):
        headers[CORRELATION_HEADER] = correlation.get() or correlation.new_id()


@task_prerun.connect
def _adopt_correlation_id(task: Task | None = None, **_: Any) -> None:
    value = getattr(task.request, CORRELATION_HEADER, None) if task else None
    task.request._psa_correlation_token = correlation.set_id(value)  # type: ignore[union-attr]


@task_postrun.connect
def _drop_correlation_id(task: Task | None = None, **_: Any) -> None:
    token = getattr(task.request, "_psa_correlation_token", None) if task else None
    if token is not None:
        correlation.reset(token)

"""Every scheduled job: thin tasks on the beat schedule (psa/celery.py), each run recorded."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from ledger.outbox import outbox_deliver, outbox_due
from psa.automation import cycle, sweeps
from psa.automation.jobs import job_run
from psa.automation.selectors import HEARTBEAT_KEY
from psa.kernel import clock
from psa.kernel.delivery import record_delivery
from psa.kernel.mail import mail_due, mail_send
from psa.kernel.webhooks import webhook_deliver, webhooks_due


@shared_task(name="psa.automation.tasks.heartbeat", ignore_result=True)
def heartbeat() -> str:
    """Records that a worker consumed the beat's message: admins see it on the home page."""
    now = timezone.now()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now.isoformat()


@shared_task(name="psa.automation.tasks.clear_expired_sessions", ignore_result=True)
def clear_expired_sessions() -> None:

    with job_run("clear-expired-sessions") as run:
        call_command("clearsessions")
        run.processed()


@shared_task(name="psa.automation.tasks.deliver_due_webhooks", ignore_result=True)
def deliver_due_webhooks() -> int:
    """Beat: send every delivery whose retry is due (each is claimed, so overlap is safe)."""

    with job_run("deliver-webhooks") as run:
        due = webhooks_due()
        for delivery_id in due:
            record_delivery(run, delivery_id, webhook_deliver(delivery_id=delivery_id))
    return len(due)


@shared_task(name="psa.automation.tasks.deliver_due_outbox", ignore_result=True)
def deliver_due_outbox() -> int:
    """Beat: send every outbox message whose retry is due (each is claimed, so overlap is
    safe)."""
    with job_run("deliver-outbox") as run:
        due = outbox_due()
        for message_id in due:
            record_delivery(run, message_id, outbox_deliver(message_id=message_id))
    return len(due)


@shared_task(name="psa.automation.tasks.send_due_mail", ignore_result=True)
def send_due_mail() -> int:
    """Beat: send every outgoing e-mail that is due (psa.kernel.mail). Each is claimed with
    SKIP LOCKED, so overlapping sweeps and the after-commit fast path never send one twice;
    this sweep is why nothing depends on Redis having carried the fast path's task."""
    with job_run("send-mail") as run:
        due = mail_due()
        for message_id in due:
            with run.item(f"mail {message_id}") as item:
                status = mail_send(message_id=message_id)
            if not item.failed:
                record_delivery(run, message_id, status)
    return len(due)


# --- the zero-touch cycle (psa.automation.cycle): thin tasks, each run recorded -----------


def _cycle(job: str, *, at_moment: bool = False) -> dict[str, int]:
    """Run one job of psa.automation.cycle (named like its beat entry) on the product's clock."""

    step = getattr(cycle, job.replace("-", "_"))
    when = {"now": clock.now()} if at_moment else {"today": clock.today()}
    with job_run(job) as run:
        step(**when, run=run)
        return dict(run.counts)


@shared_task(name="psa.automation.tasks.auto_approve", ignore_result=True)
def auto_approve() -> dict[str, int]:
    return _cycle("auto-approve", at_moment=True)


@shared_task(name="psa.automation.tasks.release_milestones", ignore_result=True)
def release_milestones() -> dict[str, int]:
    return _cycle("release-milestones")


@shared_task(name="psa.automation.tasks.billing_calendar", ignore_result=True)
def billing_calendar() -> dict[str, int]:
    counts = _cycle("billing-calendar")
    if counts["processed"]:
        issue_and_send.delay()  # new drafts: issue what the policy allows without waiting
    return counts


@shared_task(name="psa.automation.tasks.issue_and_send", ignore_result=True)
def issue_and_send() -> dict[str, int]:
    return _cycle("issue-and-send")


@shared_task(name="psa.automation.tasks.recognise_revenue", ignore_result=True)
def recognise_revenue() -> dict[str, int]:
    return _cycle("recognise-revenue")


@shared_task(name="psa.automation.tasks.accrue_overage", ignore_result=True)
def accrue_overage() -> dict[str, int]:
    return _cycle("accrue-overage")


@shared_task(name="psa.automation.tasks.run_daily_cycle", ignore_result=True)
def run_daily_cycle() -> list:
    """The demo's "advance a day" button: the day's jobs, in order, on the worker."""
    return cycle.run_daily()


# --- the payment sweeps (psa.automation.sweeps): billing claims each item, this layer loops ---


@shared_task(name="psa.automation.tasks.collect_due", ignore_result=True)
def collect_due() -> dict:
    return sweeps.collect_due(today=clock.today())


@shared_task(name="psa.automation.tasks.reconcile_attempts", ignore_result=True)
def reconcile_attempts() -> dict:
    return sweeps.attempts_reconcile()


@shared_task(name="psa.automation.tasks.dunning_run", ignore_result=True)
def dunning_run() -> dict:
    return sweeps.dunning_run(today=clock.today())


@shared_task(name="psa.automation.tasks.process_pending_stripe_events", ignore_result=True)
def process_pending_stripe_events() -> dict:
    return sweeps.stripe_events_process_pending()

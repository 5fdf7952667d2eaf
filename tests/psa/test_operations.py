"""Job runs are recorded; the operations page shows jobs, backlogs and failed deliveries."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.cache import cache

from ledger import rules
from ledger.models import Integration, OutboxMessage
from ledger.outbox import outbox_deliver
from ledger.services import journal_post
from psa.automation.jobs import job_run
from psa.automation.models import JobRun
from psa.automation.tasks import deliver_due_outbox
from tests.ledger.factories import books
from tests.timesheets.factories import TimeEntryFactory

pytestmark = pytest.mark.django_db


def test_a_run_records_counts_and_failures():
    with job_run("demo-job") as run:
        run.processed(3)
        run.skipped()
        try:
            raise ValueError("customer has no address")
        except ValueError as exc:
            run.failed("invoice 7", exc)
    recorded = JobRun.objects.get(job="demo-job")
    assert (recorded.status, recorded.processed, recorded.skipped, recorded.failed) == (
        "partial", 3, 1, 1,
    )  # fmt: skip
    assert recorded.errors[0]["item"] == "invoice 7"
    assert "ValueError: customer has no address" in recorded.errors[0]["traceback"]
    assert recorded.finished_at >= recorded.started_at
    assert recorded.correlation_id


def test_a_run_that_raises_is_recorded_as_failed_and_the_error_propagates():
    with pytest.raises(RuntimeError), job_run("crashing-job"):
        raise RuntimeError("database went away")
    recorded = JobRun.objects.get(job="crashing-job")
    assert recorded.status == "failed"
    assert "database went away" in recorded.errors[0]["error"]


def test_the_outbox_job_records_its_run(finance):
    uk = books(code="uk", functional_currency="GBP")
    Integration.objects.filter(legal_entity=uk).update(
        mode="journal_post", endpoint_url="http://127.0.0.1:9/nothing", signing_secret="x" * 20
    )
    journal_post(
        legal_entity=uk, event=rules.TimeApproved(amount=D("5.00"), currency="GBP"),
        date=dt.date(2026, 3, 2), source_type="week", source_id="1",
    )  # fmt: skip
    assert deliver_due_outbox() == 1
    run = JobRun.objects.get(job="deliver-outbox")
    assert (run.status, run.failed) == ("partial", 1)


def test_operations_page_for_finance_and_admins_only(client, finance, consultant, project_manager):
    for user in (consultant, project_manager):
        client.force_login(user)
        assert client.get("/operations/").status_code == 403
    client.force_login(finance)
    assert client.get("/operations/").status_code == 200


def test_operations_page_shows_jobs_backlog_and_failed_deliveries(client, finance, project):
    uk = books(code="uk", functional_currency="GBP", name="Acme UK")
    Integration.objects.filter(legal_entity=uk).update(
        mode="journal_post", endpoint_url="http://127.0.0.1:9/nothing", signing_secret="x" * 20
    )
    journal_post(
        legal_entity=uk, event=rules.TimeApproved(amount=D("5.00"), currency="GBP"),
        date=dt.date(2026, 3, 2), source_type="week", source_id="1",
    )  # fmt: skip
    outbox_deliver(message_id=OutboxMessage.objects.get().pk)
    TimeEntryFactory(project=project, hours=D("6.5"), status="approved")
    with job_run("deliver-outbox") as run:
        run.processed()
    cache.set("worker-heartbeat", dt.datetime.now(dt.UTC))
    client.force_login(finance)
    html = client.get("/operations/").content.decode()
    for job in ("deliver-outbox", "deliver-webhooks", "worker-heartbeat", "clear-expired-sessions"):
        assert job in html
    assert "Succeeded" in html
    assert "<strong>6.5 h</strong>" in html
    assert OutboxMessage.objects.get().idempotency_key in html
    assert "Retry now" in html
    assert "message" in html and "waiting" in html  # the queue depth was read from Redis


def test_time_released_by_a_credit_note_counts_as_unbilled_again(client, finance, project):
    from billing.models import Invoice
    from billing.services import billing_run_execute, invoice_void
    from tests.projects.factories import RateCardFactory

    RateCardFactory(project=project, rate=D("100.00"), currency=project.currency)
    TimeEntryFactory(project=project, hours=D("4"), status="approved", date=dt.date(2026, 11, 2))
    client.force_login(finance)
    billing_run_execute(
        legal_entity=project.legal_entity, period_end=dt.date(2026, 11, 30), actor_label="t",
        issue=True, today=dt.date(2026, 12, 1),
    )  # fmt: skip
    assert "<strong>0 h</strong>" in client.get("/operations/").content.decode()
    invoice_void(
        invoice=Invoice.objects.get(),
        actor=finance,
        reason="Wrong project",
        today=dt.date(2026, 12, 1),
    )
    assert "<strong>4 h</strong>" in client.get("/operations/").content.decode()

"""The outbox against a real local HTTP server that fails the first calls, then accepts."""

import datetime as dt
import hashlib
import hmac
import json
import threading
from decimal import Decimal as D
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from ledger import rules
from ledger.models import Integration, OutboxMessage, OutboxStatus
from ledger.outbox import backoff, outbox_deliver, outbox_retry
from ledger.services import journal_post
from psa.kernel import errors
from tests.ledger.factories import books

SECRET = "shh-test-secret"


class AccountingEndpoint:
    """Records what it receives; answers 503 to the first ``fail_first`` calls."""

    def __init__(self, fail_first: int = 0):
        self.fail_first = fail_first
        self.calls: list[dict] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.calls.append({"headers": dict(self.headers), "body": body})
                ok = len(endpoint.calls) > endpoint.fail_first
                self.send_response(201 if ok else 503)
                self.end_headers()
                self.wfile.write(b"{}" if ok else b"try later")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/journals"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint(request):
    server = AccountingEndpoint(fail_first=getattr(request, "param", 0))
    yield server
    server.close()


@pytest.fixture
def uk(endpoint):
    entity = books(code="uk", functional_currency="GBP")
    Integration.objects.filter(legal_entity=entity).update(
        mode="journal_post", endpoint_url=endpoint.url, signing_secret=SECRET, max_attempts=4
    )
    return entity


def _post(entity, source="1"):
    return journal_post(
        legal_entity=entity,
        event=rules.TimeApproved(amount=D("120.00"), currency="GBP", project_id=3),
        date=dt.date(2026, 3, 2),
        source_type="week",
        source_id=source,
    )


@pytest.mark.django_db
def test_a_posting_writes_an_outbox_message_in_its_transaction(uk):
    entry = _post(uk)
    message = OutboxMessage.objects.get()
    assert message.topic == "journal.posted"
    assert message.payload["entry_id"] == entry.pk
    assert {ln["account"] for ln in message.payload["lines"]} == {"1150", "4000"}
    _post(uk)  # the same event again: no second message
    assert OutboxMessage.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", [2], indirect=True)
def test_delivery_retries_with_backoff_then_succeeds_signed_and_idempotent(uk, endpoint):
    _post(uk)
    message = OutboxMessage.objects.get()
    now = timezone.now()
    assert outbox_deliver(message_id=message.pk, now=now) == "pending"
    message.refresh_from_db()
    assert message.attempts == 1
    assert message.next_attempt_at == now + backoff(1)
    assert "HTTP 503" in message.last_error
    # Not due yet: nothing is sent.
    assert outbox_deliver(message_id=message.pk, now=now + dt.timedelta(seconds=5)) == "skipped"
    assert len(endpoint.calls) == 1
    later = now + backoff(1)
    assert outbox_deliver(message_id=message.pk, now=later) == "pending"
    assert outbox_deliver(message_id=message.pk, now=later + backoff(2)) == "delivered"
    message.refresh_from_db()
    assert message.status == OutboxStatus.DELIVERED
    assert message.log.count() == 3
    assert len(endpoint.calls) == 3
    # Every attempt carried the same idempotency key and a valid signature over the body.
    keys = {call["headers"]["Idempotency-Key"] for call in endpoint.calls}
    assert keys == {message.idempotency_key}
    for call in endpoint.calls:
        expected = "sha256=" + hmac.new(SECRET.encode(), call["body"], hashlib.sha256).hexdigest()
        assert call["headers"]["X-Signature"] == expected
        assert json.loads(call["body"])["entry_id"] == message.payload["entry_id"]
    # Delivered is final: another run sends nothing.
    assert outbox_deliver(message_id=message.pk, now=later + dt.timedelta(days=1)) == "skipped"


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", [100], indirect=True)
def test_after_max_attempts_the_message_is_dead_lettered_and_finance_can_retry(
    uk, endpoint, finance, consultant
):
    _post(uk)
    message = OutboxMessage.objects.get()
    now = timezone.now()
    for attempt in range(1, 5):
        status = outbox_deliver(message_id=message.pk, now=now)
        now += backoff(attempt)
    assert status == "dead"
    message.refresh_from_db()
    assert message.status == OutboxStatus.DEAD
    assert outbox_deliver(message_id=message.pk, now=now + dt.timedelta(days=9)) == "skipped"
    with pytest.raises(errors.PermissionDenied):
        outbox_retry(message=message, actor=consultant)
    endpoint.fail_first = 0
    outbox_retry(message=message, actor=finance)
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 0)
    assert outbox_deliver(message_id=message.pk) == "delivered"


@pytest.mark.django_db
def test_an_unreachable_endpoint_is_a_failed_attempt_not_a_crash(uk):
    Integration.objects.filter(legal_entity=uk).update(endpoint_url="http://127.0.0.1:9/nothing")
    _post(uk)
    message = OutboxMessage.objects.get()
    assert outbox_deliver(message_id=message.pk) == "pending"
    message.refresh_from_db()
    assert "Connection refused" in message.last_error or "URLError" in message.last_error


@pytest.mark.django_db(transaction=True)
def test_two_senders_never_send_the_same_message_at_once(uk, endpoint):
    _post(uk)
    message = OutboxMessage.objects.get()
    from django.db import connections

    results = []
    barrier = threading.Barrier(2)

    def sender():
        barrier.wait()
        results.append(outbox_deliver(message_id=message.pk))
        connections.close_all()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["delivered", "skipped"]
    assert len(endpoint.calls) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("mode", "sent"),
    [
        ("none", set()),
        ("invoice_line_trigger", {"invoice.lines"}),
        ("invoice_post", {"customer.upserted", "invoice.posted"}),
        ("journal_post", {"journal.posted"}),
    ],
)
def test_each_integration_mode_sends_its_own_topics(uk, mode, sent):
    from ledger.outbox import integration_publish

    Integration.objects.filter(legal_entity=uk).update(mode=mode)
    for topic in ("invoice.lines", "customer.upserted", "invoice.posted"):
        integration_publish(legal_entity=uk, topic=topic, payload={"n": 1}, key=f"{mode}-{topic}")
    _post(uk)
    assert set(OutboxMessage.objects.values_list("topic", flat=True)) == sent

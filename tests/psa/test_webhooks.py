"""Outbound webhooks: subscriptions, signed deliveries with retries, the log and redelivery."""

import datetime as dt
import hashlib
import hmac
import json
from decimal import Decimal as D

import pytest
from django.db import transaction
from django.utils import timezone

from ledger import rules
from ledger.services import journal_post
from psa.kernel import errors
from psa.kernel.delivery import backoff
from psa.kernel.models import WebhookDelivery
from psa.kernel.services import api_token_create
from psa.kernel.webhooks import webhook_deliver, webhook_subscribe, webhooks_emit
from tests.ledger.factories import books
from tests.ledger.test_outbox import AccountingEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    server = AccountingEndpoint(fail_first=0)
    yield server
    server.close()


def _post_entry(entity, source="1"):
    return journal_post(
        legal_entity=entity, event=rules.TimeApproved(amount=D("75.00"), currency="GBP"),
        date=dt.date(2026, 3, 2), source_type="week", source_id=source,
    )  # fmt: skip


def test_subscribing_is_limited_to_events_the_roles_allow(consultant, project_manager):
    with pytest.raises(errors.ValidationFailed) as caught:
        webhook_subscribe(owner=project_manager, url="ftp://x", events=["journal.posted", "nope"])
    assert set(caught.value.fields) == {"url", "events"}
    with pytest.raises(errors.ValidationFailed, match="cannot be created") as caught:
        webhook_subscribe(owner=project_manager, url="https://x.test/h", events=["journal.posted"])
    assert "roles do not allow" in caught.value.fields["events"][0]
    sub = webhook_subscribe(owner=project_manager, url="https://x.test/h", events=["lead.created"])
    assert sub.secret.startswith("whsec_")


def test_a_posting_is_delivered_signed_to_each_subscriber(finance, receiver):
    uk = books(code="uk", functional_currency="GBP")
    sub = webhook_subscribe(owner=finance, url=receiver.url, events=["journal.posted"])
    entry = _post_entry(uk)
    row = WebhookDelivery.objects.get()
    assert row.topic == "journal.posted"
    assert webhook_deliver(delivery_id=row.pk) == "delivered"
    (call,) = receiver.calls
    body = call["body"]
    assert (
        call["headers"]["X-Signature"]
        == "sha256=" + hmac.new(sub.secret.encode(), body, hashlib.sha256).hexdigest()
    )
    assert call["headers"]["X-Webhook-Event"] == "journal.posted"
    assert call["headers"]["Idempotency-Key"] == row.idempotency_key
    event = json.loads(body)
    assert event["type"] == "journal.posted"
    assert event["data"]["entry_id"] == entry.pk


def test_nothing_is_emitted_if_the_change_rolls_back(finance):
    webhook_subscribe(owner=finance, url="https://x.test/h", events=["journal.posted"])
    with pytest.raises(RuntimeError), transaction.atomic():
        webhooks_emit(event="journal.posted", data={"entry_id": 1})
        raise RuntimeError("business change failed")
    assert not WebhookDelivery.objects.exists()


def test_failures_retry_with_backoff_and_the_log_shows_each_attempt(finance, receiver):
    receiver.fail_first = 1
    webhook_subscribe(owner=finance, url=receiver.url, events=["journal.posted"])
    webhooks_emit(event="journal.posted", data={"entry_id": 1})
    row = WebhookDelivery.objects.get()
    now = timezone.now()
    assert webhook_deliver(delivery_id=row.pk, now=now) == "pending"
    assert webhook_deliver(delivery_id=row.pk, now=now) == "skipped"  # not due yet
    assert webhook_deliver(delivery_id=row.pk, now=now + backoff(1)) == "delivered"
    assert [a.status_code for a in row.log.order_by("id")] == [503, 201]


def test_the_api_manages_subscriptions_and_redelivers(client, finance, project_manager, receiver):
    _, token = api_token_create(user=finance, name="hooks", scopes=["webhooks:write"])
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    created = client.post(
        "/api/v1/webhooks/", {"url": receiver.url, "events": ["journal.posted"]},
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201
    assert created.json()["secret"].startswith("whsec_")
    sub_id = created.json()["id"]
    listing = client.get("/api/v1/webhooks/").json()
    assert listing["results"][0]["id"] == sub_id
    assert "secret" not in listing["results"][0]
    events = client.get("/api/v1/webhooks/events/").json()
    assert {
        "type": "journal.posted",
        "description": "A journal entry was posted to the books.",
    } in events

    receiver.fail_first = 100
    webhooks_emit(event="journal.posted", data={"entry_id": 9})
    row = WebhookDelivery.objects.get()
    now = timezone.now()
    for attempt in range(1, 11):
        webhook_deliver(delivery_id=row.pk, now=now)
        now += backoff(attempt)
    row.refresh_from_db()
    assert row.status == "dead"
    log = client.get(f"/api/v1/webhooks/{sub_id}/deliveries/").json()["results"][0]
    assert log["status"] == "dead" and len(log["log"]) == 10
    receiver.fail_first = 0
    assert client.post(f"/api/v1/webhooks/deliveries/{row.pk}/redeliver/").status_code == 202
    assert webhook_deliver(delivery_id=row.pk) == "delivered"

    # Another user sees none of it.
    client.defaults.pop("HTTP_AUTHORIZATION")
    client.force_login(project_manager)
    assert client.get(f"/api/v1/webhooks/{sub_id}/").status_code == 404
    assert client.post(f"/api/v1/webhooks/deliveries/{row.pk}/redeliver/").status_code == 404
    assert client.delete(f"/api/v1/webhooks/{sub_id}/").status_code == 404


def test_read_scope_cannot_subscribe(client, finance):
    _, token = api_token_create(user=finance, name="ro", scopes=["webhooks:read"])
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    assert client.get("/api/v1/webhooks/").status_code == 200
    response = client.post(
        "/api/v1/webhooks/", {"url": "https://x.test", "events": ["journal.posted"]},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 403


def test_only_subscribers_of_the_event_get_a_delivery(finance, project_manager):
    webhook_subscribe(owner=project_manager, url="https://a.test/h", events=["lead.created"])
    wanted = webhook_subscribe(owner=finance, url="https://b.test/h", events=["journal.posted"])
    assert webhooks_emit(event="journal.posted", data={"entry_id": 1}) == 1
    assert WebhookDelivery.objects.get().subscription == wanted

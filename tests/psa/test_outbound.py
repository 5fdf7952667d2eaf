"""Outbound HTTP to user-given addresses refuses local, private and reserved destinations
(SSRF), checked at subscription and again at send time after DNS resolution; no redirects;
the delivery log keeps the status and a short, printable excerpt only."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ledger.models import Integration
from ledger.services import integration_update
from psa.kernel import errors
from psa.kernel.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from psa.kernel.services import api_token_create
from psa.kernel.webhooks import webhook_deliver, webhooks_emit
from tests.ledger.factories import books

pytestmark = pytest.mark.django_db

SECRET_BODY = b"root:x:0:0\x1b[31m" + b"A" * 2000 + b"\x00 instance-secret-token"


class Receiver:
    """A local HTTP server: answers ``status`` with ``body`` (and ``location`` if set)."""

    def __init__(self, status: int = 201, body: bytes = b"{}", location: str = ""):
        self.calls: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append(self.path)
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def no_allow_list(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    return settings


def _subscription(owner, url):
    """A subscription written as an older version (or a changed DNS answer) could leave it."""
    return WebhookSubscription.objects.create(
        owner=owner, url=url, events=["journal.posted"], secret="whsec_test"
    )


def _emit_and_deliver() -> str:
    webhooks_emit(event="journal.posted", data={"entry_id": 1})
    return webhook_deliver(delivery_id=WebhookDelivery.objects.get().pk)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://100.64.0.1/hook",
    ],
)
def test_subscribing_a_local_or_private_address_is_a_400_naming_url(
    client, finance, no_allow_list, url
):
    _, token = api_token_create(user=finance, name="hooks", scopes=["webhooks:write"])
    response = client.post(
        "/api/v1/webhooks/", {"url": url, "events": ["journal.posted"]},
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert response.status_code == 400
    assert "url" in response.json()["error"]["fields"]
    assert not WebhookSubscription.objects.exists()


def test_the_worker_refuses_a_loopback_receiver_at_send_time(finance, receiver, no_allow_list):
    _subscription(finance, receiver.url)
    assert _emit_and_deliver() == "pending"
    assert receiver.calls == []
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert "not a public address" in attempt.error


def test_an_allow_listed_network_is_reached(finance, receiver, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    _subscription(finance, receiver.url)
    assert _emit_and_deliver() == "delivered"
    assert receiver.calls == ["/hook"]


def test_a_name_resolving_inward_at_send_time_is_refused(
    client, finance, receiver, no_allow_list, monkeypatch
):
    """DNS rebinding: public when subscribed, loopback when the worker sends."""
    real = socket.getaddrinfo
    answer = {"ip": "93.184.216.34"}

    def fake(host, port, *args, **kwargs):
        if host == "hooks.example.com":
            return real(answer["ip"], port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    _, token = api_token_create(user=finance, name="hooks", scopes=["webhooks:write"])
    url = f"http://hooks.example.com:{receiver.port}/hook"
    created = client.post(
        "/api/v1/webhooks/", {"url": url, "events": ["journal.posted"]},
        content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip
    assert created.status_code == 201
    answer["ip"] = "127.0.0.1"
    assert _emit_and_deliver() == "pending"
    assert receiver.calls == []
    error = WebhookAttempt.objects.get().error
    assert "hooks.example.com resolves to a non-public address" in error


def test_redirects_are_not_followed(finance, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    inner = Receiver()
    outer = Receiver(status=302, location=inner.url)
    try:
        _subscription(finance, outer.url)
        assert _emit_and_deliver() == "pending"
        assert outer.calls == ["/hook"] and inner.calls == []
        assert WebhookAttempt.objects.get().status_code == 302
    finally:
        inner.close()
        outer.close()


def test_the_log_keeps_only_a_short_printable_excerpt_of_the_response(finance, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    leaky = Receiver(status=500, body=SECRET_BODY)
    try:
        _subscription(finance, leaky.url)
        _emit_and_deliver()
    finally:
        leaky.close()
    error = WebhookAttempt.objects.get().error
    assert error.startswith("HTTP 500: root:x:0:0")
    assert len(error) <= 140
    assert "instance-secret-token" not in error
    assert all(c.isprintable() for c in error)


def test_the_accounting_endpoint_refuses_a_private_address(finance, no_allow_list):
    entity = books(code="uk", functional_currency="GBP")
    with pytest.raises(errors.ValidationFailed) as caught:
        integration_update(
            legal_entity=entity, actor=finance, mode="journal_post",
            endpoint_url="http://169.254.169.254/latest/", signing_secret="s" * 20,
        )  # fmt: skip
    assert "endpoint_url" in caught.value.fields
    assert not Integration.objects.filter(legal_entity=entity, mode="journal_post").exists()

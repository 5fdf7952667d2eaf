"""A local, stateful fake of the parts of the Stripe API the product uses.

The real ``stripe`` client talks to it over HTTP (``STRIPE_API_BASE``), so requests are
form-encoded, authenticated, versioned and idempotency-keyed exactly as in production.

State: customers, checkout sessions, payment intents, charges, balance transactions, payment
methods, setup intents, refunds, disputes, payouts. Behaviour follows Stripe's test cards:
``pm_card_visa`` succeeds, ``pm_card_chargeDeclined`` is declined (402 card_declined),
``pm_card_authenticationRequired`` needs the customer (402 authentication_required); a
declined off-session intent is left in ``requires_payment_method``.

Idempotency: a POST with a key seen before replays the stored response; the same key with
other parameters is refused (400 idempotency_error). Scripted 500s are not stored (the request
"did not start executing"), so a retry with the same key executes.

Scripted failures: ``fake.script("POST", "/v1/payment_intents", {"status": 500})`` answers the
next matching request with that response, once per scripted item.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

_KEY_PART = re.compile(r"([^\[\]]+)|\[([^\[\]]*)\]")


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        value = {k: _listify(v) for k, v in value.items()}
        if value and all(k.isdigit() for k in value):
            return [value[k] for k in sorted(value, key=int)]
    return value


def parse_form(body: str) -> dict[str, Any]:
    """``metadata[invoice]=1&expand[0]=x`` -> {"metadata": {"invoice": "1"}, "expand": ["x"]}."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = [a or b for a, b in _KEY_PART.findall(key)]
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _listify(out)


def _fee(amount: int) -> int:
    """2.9 % + 30 minor units, rounded half up in integers."""
    return (amount * 29 + 500) // 1000 + 30


class FakeStripe:
    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.idempotent: dict[str, tuple[dict, int, dict]] = {}
        self.scripts: dict[tuple[str, str], list[dict]] = defaultdict(list)
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.RLock()
        self._ids = itertools.count(1)
        self.server: ThreadingHTTPServer | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def do_DELETE(self) -> None:
                fake._handle(self, "DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    # --- test helpers ------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self._ids):06d}"

    def script(self, method: str, path: str, *responses: dict) -> None:
        with self.lock:
            self.scripts[(method, path)].extend(responses)

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.objects[obj["id"]] = obj
        return obj

    def calls(self, method: str, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == method and r["path"] == path]

    def complete_checkout(self, session_id: str, *, pm: str = "pm_card_visa") -> dict:
        """The customer paid on Stripe's page: the session's intent succeeds with a charge."""
        with self.lock:
            session = self.objects[session_id]
            pi = self._intent_new(
                amount=session["amount_total"], currency=session["currency"],
                customer=session.get("customer"), payment_method=pm,
                metadata=session["_intent_data"].get("metadata", {}),
                setup_future_usage=session["_intent_data"].get("setup_future_usage"),
            )  # fmt: skip
            self._intent_charge(pi)
            session.update(status="complete", payment_status="paid", payment_intent=pi["id"])
            return pi

    def event(self, type_: str, obj: dict[str, Any], *, event_id: str | None = None) -> dict:
        return {
            "id": event_id or self.new_id("evt"),
            "object": "event",
            "type": type_,
            "created": int(time.time()),
            "livemode": False,
            "api_version": stripe.api_version,
            "data": {"object": {k: v for k, v in obj.items() if not k.startswith("_")}},
        }

    @staticmethod
    def sign(payload: str, secret: str, *, timestamp: int | None = None) -> str:
        return stripe.WebhookSignature.generate_signature_header(
            payload, secret, timestamp=timestamp
        )

    # --- objects -------------------------------------------------------------------------------

    def _intent_new(self, **fields: Any) -> dict[str, Any]:
        pi = {
            "id": self.new_id("pi"), "object": "payment_intent", "amount": int(fields["amount"]),
            "amount_received": 0, "currency": fields["currency"],
            "status": "requires_payment_method",
            "customer": fields.get("customer"), "payment_method": fields.get("payment_method"),
            "metadata": fields.get("metadata") or {}, "latest_charge": None,
            "last_payment_error": None, "setup_future_usage": fields.get("setup_future_usage"),
            "created": int(time.time()),
        }  # fmt: skip
        self.objects[pi["id"]] = pi
        if pi["payment_method"] and pi["payment_method"] not in self.objects:
            self.objects[pi["payment_method"]] = {
                "id": pi["payment_method"], "object": "payment_method", "type": "card",
                "customer": pi["customer"],
                "card": {"brand": "visa", "last4": "4242", "exp_month": 12, "exp_year": 2030},
            }  # fmt: skip
        return pi

    def _intent_charge(self, pi: dict[str, Any]) -> None:
        fee = _fee(pi["amount"])
        txn = self.add({
            "id": self.new_id("txn"), "object": "balance_transaction", "amount": pi["amount"],
            "fee": fee, "net": pi["amount"] - fee, "currency": pi["currency"],
            "exchange_rate": None, "type": "charge",
        })  # fmt: skip
        charge = self.add({
            "id": self.new_id("ch"), "object": "charge", "amount": pi["amount"],
            "currency": pi["currency"], "paid": True, "payment_intent": pi["id"],
            "balance_transaction": txn["id"], "refunds": {"object": "list", "data": []},
        })  # fmt: skip
        pi.update(status="succeeded", amount_received=pi["amount"], latest_charge=charge["id"])

    def _expand(self, obj: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        obj = json.loads(json.dumps({k: v for k, v in obj.items() if not k.startswith("_")}))
        for path in paths:
            head, _, rest = path.partition(".")
            value = obj.get(head)
            if isinstance(value, str) and value in self.objects:
                obj[head] = self._expand(self.objects[value], [rest] if rest else [])
            elif isinstance(value, dict) and rest:
                obj[head] = self._expand(value, [rest])
        return obj

    # --- HTTP --------------------------------------------------------------------------------

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        url = urlsplit(h.path)
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length).decode() if length else ""
        params = parse_form(body if method == "POST" else url.query)
        key = h.headers.get("Idempotency-Key")
        record = {"method": method, "path": url.path, "params": params, "idempotency_key": key,
                  "auth": h.headers.get("Authorization", ""),
                  "version": h.headers.get("Stripe-Version", "")}  # fmt: skip
        with self.lock:
            self.requests.append(record)
            if not record["auth"].startswith("Bearer sk_test_"):
                return self._send(h, 401, _error("invalid_request_error", "Invalid API key."))
            if method == "POST" and key and key in self.idempotent:
                stored_params, status, payload = self.idempotent[key]
                if stored_params != params:
                    return self._send(h, 400, _error(
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters.",
                    ))  # fmt: skip
                return self._send(h, status, payload, replayed=True)
            scripted = self.scripts.get((method, url.path))
            if scripted:
                response = scripted.pop(0)
                if response["status"] >= 500:
                    return self._send(h, response["status"], _error("api_error", "Fake outage."))
                return self._send(h, response["status"], response["body"])
            try:
                status, payload = self._route(method, url.path, params)
            except KeyError as exc:
                status, payload = 404, _error("invalid_request_error", f"No such object: {exc}")
            if method == "POST" and key:
                self.idempotent[key] = (params, status, payload)
        self._send(h, status, payload)

    def _send(self, h: BaseHTTPRequestHandler, status: int, payload: dict, replayed: bool = False):
        data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Request-Id", f"req_{next(self._ids)}")
        if replayed:
            h.send_header("Idempotent-Replayed", "true")
        h.end_headers()
        h.wfile.write(data)

    def _route(self, method: str, path: str, p: dict[str, Any]) -> tuple[int, dict]:
        parts = path.strip("/").split("/")[1:]  # drop "v1"
        expand = p.get("expand") or []
        if method == "GET" and len(parts) >= 2:
            if parts[0] == "checkout":
                return 200, self._expand(self.objects[parts[2]], expand)
            return 200, self._expand(self.objects[parts[1]], expand)
        if parts == ["customers"]:
            return 200, self.add({"id": self.new_id("cus"), "object": "customer",
                                  "name": p.get("name"), "email": p.get("email"),
                                  "metadata": p.get("metadata") or {}})  # fmt: skip
        if parts == ["checkout", "sessions"]:
            item = p["line_items"][0]
            amount = int(item["price_data"]["unit_amount"]) * int(item.get("quantity", 1))
            sid = self.new_id("cs")
            return 200, self.add({
                "id": sid, "object": "checkout.session", "url": f"{self.base_url}/pay/{sid}",
                "status": "open", "payment_status": "unpaid", "payment_intent": None,
                "mode": p.get("mode"), "customer": p.get("customer"),
                "client_reference_id": p.get("client_reference_id"),
                "metadata": p.get("metadata") or {}, "amount_total": amount,
                "currency": item["price_data"]["currency"], "success_url": p.get("success_url"),
                "_intent_data": p.get("payment_intent_data") or {},
            })  # fmt: skip
        if len(parts) == 4 and parts[:2] == ["checkout", "sessions"] and parts[3] == "expire":
            session = self.objects[parts[2]]
            if session["status"] != "open":
                return 400, _error("invalid_request_error", "Only open sessions can expire.")
            session["status"] = "expired"
            return 200, self._expand(session, [])
        if parts == ["payment_intents"]:
            return self._intent_create(p, expand)
        if parts == ["refunds"]:
            pi = self.objects[p["payment_intent"]]
            amount = int(p.get("amount") or pi["amount_received"])
            refunded = sum(
                r["amount"] for r in self.objects.values()
                if r.get("object") == "refund" and r["payment_intent"] == pi["id"]
            )  # fmt: skip
            if amount + refunded > pi["amount_received"]:
                return 400, _error("invalid_request_error", "Refund exceeds the charge.")
            refund = self.add({
                "id": self.new_id("re"), "object": "refund", "amount": amount,
                "currency": pi["currency"], "status": "succeeded", "payment_intent": pi["id"],
                "charge": pi["latest_charge"], "metadata": p.get("metadata") or {},
            })  # fmt: skip
            self.objects[pi["latest_charge"]]["refunds"]["data"].append({"id": refund["id"]})
            return 200, self._expand(refund, [])
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({path}).")

    def _intent_create(self, p: dict[str, Any], expand: list[str]) -> tuple[int, dict]:
        pi = self._intent_new(
            amount=p["amount"], currency=p["currency"], customer=p.get("customer"),
            payment_method=p.get("payment_method"), metadata=p.get("metadata"),
        )  # fmt: skip
        if p.get("confirm") != "true":
            return 200, self._expand(pi, expand)
        pm = pi["payment_method"] or ""
        if pm.endswith(("chargeDeclined", "authenticationRequired")):
            code = "card_declined" if pm.endswith("chargeDeclined") else "authentication_required"
            decline = "generic_decline" if code == "card_declined" else "authentication_required"
            error = {"type": "card_error", "code": code, "decline_code": decline,
                     "message": "Your card was declined." if code == "card_declined"
                     else "This payment requires authentication."}  # fmt: skip
            pi["last_payment_error"] = error
            return 402, {"error": {**error, "payment_intent": self._expand(pi, [])}}
        self._intent_charge(pi)
        return 200, self._expand(pi, expand)


def _error(type_: str, message: str) -> dict:
    return {"error": {"type": type_, "message": message}}

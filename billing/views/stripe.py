"""Stripe's webhook endpoint: verify the signature on the raw body, store the event once, 200.

Bad or stale signature: 400, nothing written. Processing happens in Celery after commit
(billing.services.stripe_events).
"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.services import gateway
from billing.services.stripe_events import stripe_event_receive


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    payload = request.body
    try:
        gateway.webhook_verify(
            payload=payload, signature=request.headers.get("Stripe-Signature", "")
        )
        event = json.loads(payload)
        event_id, event_type = str(event["id"]), str(event["type"])
    except (gateway.SignatureVerificationError, ValueError, KeyError, TypeError):
        return HttpResponse("invalid signature or payload", status=400, content_type="text/plain")
    stripe_event_receive(event=event, event_id=event_id, event_type=event_type)
    return HttpResponse("ok", content_type="text/plain")

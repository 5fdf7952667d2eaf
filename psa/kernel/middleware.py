"""Request middleware: correlation ids, domain errors as friendly 4xx pages, idempotency keys."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from psa.kernel import correlation, errors
from psa.kernel.models import ApiToken, IdempotencyRecord

HEADER = "X-Request-ID"


class CorrelationIdMiddleware:
    """Adopt the caller's X-Request-ID (if sane) or make one; echo it on the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = correlation.set_id(request.headers.get(HEADER))
        request.correlation_id = correlation.get()  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            correlation.reset(token)
        response[HEADER] = request.correlation_id  # type: ignore[attr-defined]
        return response


class DomainErrorMiddleware:
    """A DomainError escaping a page view becomes its 4xx status, not a 500.

    JSON for API paths and clients that ask for it; for htmx a small fragment the page can
    show in place; otherwise the full error page with the message.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not isinstance(exc, errors.DomainError):
            return None
        if request.path.startswith("/api/") or "application/json" in request.headers.get(
            "Accept", ""
        ):
            return JsonResponse(exc.as_dict(), status=exc.status)
        template = "partials/error.html" if getattr(request, "htmx", False) else "error.html"
        return render(request, template, {"error": exc}, status=exc.status)


TOO_LARGE = {
    "error": {
        "code": "request_too_large",
        "message": "The request body is too large.",
        "fields": {},
    }
}


def _body_limit(request: HttpRequest) -> int:
    """The largest body the API takes: a receipt upload (multipart) may carry a file up to
    ``API_MAX_UPLOAD_BYTES``; everything else is JSON of at most DATA_UPLOAD_MAX_MEMORY_SIZE."""
    if request.content_type == "multipart/form-data":
        return settings.API_MAX_UPLOAD_BYTES
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440


class ApiEdgeMiddleware:
    """The API's edge, first in the chain:

    * a body too large is a JSON 413 before anything reads it (Django would answer its HTML
      400 page);
    * a query parameter given empty (``?as_of=``) is a 400 naming it, not silently ignored;
    * any error the API answers is JSON in the one shape, also those Django answers before a
      view runs (an id that is not a number misses the URL patterns: Django's HTML 404).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/api/") or request.path.startswith(_DOCUMENTS):
            return self.get_response(request)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > _body_limit(request):
            return JsonResponse(TOO_LARGE, status=413)
        empty = sorted(
            name for name, values in request.GET.lists() if any(not v.strip() for v in values)
        )
        if request.method not in API_METHODS:
            empty = []  # an undeclared method is DRF's 405, whatever the query
        if empty:
            message = f"{empty[0]}: give a value or leave it out."
            return _api_error(400, "validation_failed", message,
                              {name: ["Empty."] for name in empty})  # fmt: skip
        response = self.get_response(request)
        if response.status_code >= 400 and "json" not in response.get("Content-Type", ""):
            return _api_error(response.status_code, _CODES.get(response.status_code, "error"),
                              response.reason_phrase or "Error.")  # fmt: skip
        return response


API_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
# The schema and its documentation pages, not API resources (the docs' script is ``?script=``).
_DOCUMENTS = ("/api/v1/schema/", "/api/v1/docs/")
_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 500: "server_error"}


class IdempotencyMiddleware:
    """``Idempotency-Key`` on API POSTs: the first response is stored and replayed for 24 h.

    Keys are scoped to the caller (token, or signed-in user). A duplicate that arrives while the
    first is still running gets 409 with Retry-After; the same key with a different request
    gets 422. Server errors (5xx) are not stored: the transaction rolled back, nothing was
    written, and the client may retry with the same key.

    Only an authenticated and authorised request keeps its key: an invalid, expired or revoked
    token never claims one, and a 401, 403 or 429 answer frees the key again, so a request
    refused before it ran (a missing scope, a throttle) never poisons the key for the retry
    that is allowed to run.
    """

    NOT_RUN = frozenset({401, 403, 429})

    TTL = dt.timedelta(hours=24)

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get("Idempotency-Key")
        if not key or request.method != "POST" or not request.path.startswith("/api/"):
            return self.get_response(request)
        owner = _idempotency_owner(request)
        if owner is None:
            return self.get_response(request)  # anonymous: authentication will refuse it
        if len(key) > 255:
            return _api_error(400, "idempotency_key_invalid", "Idempotency-Key is too long.",
                              {"Idempotency-Key": ["At most 255 characters."]})  # fmt: skip
        try:
            body = request.body
        except RequestDataTooBig:
            return JsonResponse(TOO_LARGE, status=413)
        fingerprint = hashlib.sha256(b"POST " + request.path.encode() + b"\n" + body).hexdigest()
        now = timezone.now()
        record, replay = _claim_key(owner, key, fingerprint, now)
        if replay is not None:
            return replay
        answered = False
        try:
            response = self.get_response(request)
            answered = True
        finally:
            if not answered:  # the view raised: free the key (the error propagates as it was)
                IdempotencyRecord.objects.filter(pk=record.pk).delete()
        if (
            response.status_code >= 500
            or response.status_code in self.NOT_RUN
            or getattr(response, "streaming", False)
        ):
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            done=True,
            status_code=response.status_code,
            content_type=response.get("Content-Type", ""),
            body=response.content,
        )
        return response


def _idempotency_owner(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        # Imported here: the services import the models, which the middleware must not load
        # while the settings import it.
        from psa.kernel.services import token_hash

        digest = token_hash(header[7:].strip())
        usable = ApiToken.objects.usable(timezone.now()).filter(
            token_hash=digest, user__is_active=True
        )
        # A token that does not authenticate claims no key: authentication will refuse it.
        return f"token:{digest[:32]}" if usable.exists() else None
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return None


def _api_error(status: int, code: str, message: str, fields=None, headers=None) -> JsonResponse:
    response = JsonResponse(
        {"error": {"code": code, "message": message, "fields": fields or {}}}, status=status
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _claim_key(owner: str, key: str, fingerprint: str, now):
    """Insert the key (we run the request) or decide what the duplicate gets back."""
    expires = now + IdempotencyMiddleware.TTL
    try:
        # Its own transaction, committed at once: a concurrent duplicate must see it.
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                owner=owner, key=key, fingerprint=fingerprint, expires_at=expires
            ), None
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
    if record is None or record.expires_at <= now:
        # Expired (or just deleted after a 5xx): take the key over, if nobody beats us to it.
        IdempotencyRecord.objects.filter(owner=owner, key=key, expires_at__lte=now).delete()
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    owner=owner, key=key, fingerprint=fingerprint, expires_at=expires
                ), None
        except IntegrityError:
            record = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
    if record is None or not record.done:
        return None, _api_error(
            409, "idempotency_in_progress",
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            headers={"Retry-After": "1"},
        )  # fmt: skip
    if record.fingerprint != fingerprint:
        return None, _api_error(
            422, "idempotency_key_reused",
            "This Idempotency-Key was used for a different request.",
            {"Idempotency-Key": ["Use a new key for a new request."]},
        )  # fmt: skip
    replay = HttpResponse(
        bytes(record.body or b""), status=record.status_code, content_type=record.content_type
    )
    replay["Idempotent-Replayed"] = "true"
    return None, replay

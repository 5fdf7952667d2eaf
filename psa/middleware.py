"""Request middleware: correlation ids and domain errors rendered as friendly 4xx pages."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from psa import correlation, errors

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

"""The Content-Security-Policy every response carries.

Pages load only our own scripts and styles (htmx is a local static file; page behaviours are
data attributes handled by static/js/app.js), so an injected ``<script>``, inline event
handler or ``style`` attribute does nothing. A view may set its own policy (the embeddable
lead form sets ``frame-ancestors``): its directives win, the others are added.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"
POLICY: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
}
# The API docs (Swagger UI, a third-party bundle served locally) set styles inline; their
# scripts are still our own files (SpectacularSwaggerSplitView serves the init script).
RELAXED_STYLES = ("/api/v1/docs/",)


def _parse(header: str) -> dict[str, str]:
    directives = {}
    for part in header.split(";"):
        name, _, value = part.strip().partition(" ")
        if name:
            directives[name.lower()] = value.strip()
    return directives


def policy_for(path: str, existing: str = "") -> str:
    policy = dict(POLICY)
    if path.startswith(RELAXED_STYLES):
        policy["style-src"] = "'self' 'unsafe-inline'"
    policy.update(_parse(existing))
    return "; ".join(f"{name} {value}".strip() for name, value in policy.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response[HEADER] = policy_for(request.path, response.get(HEADER, ""))
        return response

"""The public web-to-lead form: no login, embeddable by the firm's website."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from crm import selectors, services
from crm.forms import (
    LeadWebForm,
    apply_errors,
)
from crm.models import LeadFormKey, LeadSource
from psa.kernel import errors, ratelimit
from psa.kernel.views import client_ip

# Public form: at most this many submissions per address per window (spam, scripted floods).
LEAD_FORM_LIMIT = 5
LEAD_FORM_WINDOW = 600


# --- the public web-to-lead form ----------------------------------------------------------


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def _own_origins(request: HttpRequest) -> set[str]:
    return {_origin_of(settings.PUBLIC_BASE_URL), _origin_of(request.build_absolute_uri("/"))}


def _embeddable(response: HttpResponse, config: LeadFormKey | None) -> HttpResponse:
    """Let the key's websites (and only them) show the page in a frame.

    X-Frame-Options cannot name several sites, so it is dropped for this response and
    CSP frame-ancestors lists the allowed origins instead; every modern browser honours it.
    Without a key (our own page) the default DENY stays: nobody needs to frame it.
    """
    if config is not None and config.allowed_origins:
        response.xframe_options_exempt = True  # type: ignore[attr-defined]
        ancestors = " ".join(["'self'", *config.allowed_origins])
        response["Content-Security-Policy"] = f"frame-ancestors {ancestors}"
    return response


def _rate_limited(request: HttpRequest) -> bool:
    """Count this submission for the caller's address; True once over the limit (and False
    when the cache is down: the form keeps working, psa.kernel.ratelimit)."""
    return ratelimit.hit(
        f"lead-form:ip:{client_ip(request)}", limit=LEAD_FORM_LIMIT, window=LEAD_FORM_WINDOW
    )


def _public(
    request: HttpRequest,
    template: str,
    ctx: dict[str, Any],
    config: LeadFormKey | None,
    status: int = 200,
) -> HttpResponse:
    return _embeddable(render(request, template, ctx, status=status), config)


def _unavailable(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return render(request, "crm/lead_form_unavailable.html", {"message": message}, status=status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def lead_form(request: HttpRequest) -> HttpResponse:
    """The public form. With ``key`` (query or form field): the firm's embedded/cross-site form.

    CSRF: a form key is a public, per-website configuration, and what the POST does -- create
    a lead -- is something any visitor may do, using no session or cookie. So a POST with a
    valid key skips the CSRF cookie check (a third-party site's page, or our page inside its
    frame, cannot read or send our CSRF cookie) and is checked by Origin instead: a browser
    always sends Origin on a cross-site POST, and it must be ours or one the key allows.
    Requests without a key are our own page and get Django's normal CSRF check.
    """
    key = (request.POST.get("form_key") if request.method == "POST" else None) or request.GET.get(
        "key", ""
    )
    key = key.strip()
    config = selectors.lead_form_key_active(key) if key else selectors.lead_form_key_default()
    if config is None:
        if key:
            return _unavailable(request, 403, "This form key is not valid (or no longer active).")
        return _unavailable(request, 404, "The enquiry form is not set up yet.")

    if request.method == "GET":
        form = LeadWebForm()
        return _public(
            request, "crm/lead_form.html", {"form": form, "config": config, "key": key}, config
        )

    if key:
        origin = request.headers.get("Origin") or _origin_of(request.headers.get("Referer", ""))
        allowed = _own_origins(request) | {o.lower() for o in config.allowed_origins}
        # No Origin and no Referer: not a browser acting for a visitor (e.g. a server-side
        # relay), so there is no visitor to protect; rate limit and honeypot still apply.
        if origin and origin.lower() not in allowed:
            return _unavailable(request, 403, "This website may not send this form.")
    else:
        rejected = CsrfViewMiddleware(lambda r: HttpResponse()).process_view(request, None, (), {})
        if rejected is not None:
            return rejected

    if _rate_limited(request):
        return _public(
            request,
            "crm/lead_form_unavailable.html",
            {"message": "Too many enquiries from your address. Please try again in a few minutes."},
            config,
            status=429,
        )

    thanks = reverse("leads:thanks") + (f"?{urlencode({'key': key})}" if key else "")
    form = LeadWebForm(request.POST)
    if request.POST.get("nickname"):
        # The honeypot was filled: a bot. Look successful so it learns nothing; store nothing.
        return redirect(thanks)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.lead_create(
                legal_entity=config.legal_entity,
                owner=config.owner,
                source=LeadSource.WEB_FORM,
                name=data["name"],
                email=data["email"],
                company=data["company"],
                phone=data["phone"],
                website=data["website"],
                message=data["message"],
            )
        except errors.ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            return redirect(thanks)
    ctx = {"form": form, "config": config, "key": key}
    return _public(request, "crm/lead_form.html", ctx, config, status=400)


def lead_thanks(request: HttpRequest) -> HttpResponse:
    key = request.GET.get("key", "").strip()
    config = selectors.lead_form_key_active(key) if key else selectors.lead_form_key_default()
    return _public(request, "crm/lead_thanks.html", {"config": config, "key": key}, config)

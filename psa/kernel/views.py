"""Pages every area shares: sign-in, password reset, API tokens, health checks, error pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from psa.kernel import errors, health, mail, ratelimit, services
from psa.kernel.models import MailMessage
from psa.kernel.roles import Role, role_required


def client_ip(request: HttpRequest) -> str:
    # Behind a proxy, configure it to set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips);
    # X-Forwarded-For is never trusted here because any client can forge it.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


class LoginView(auth_views.LoginView):
    """Django's login, slowed down after repeated failures (psa.kernel.ratelimit)."""

    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = request.POST.get("username", "")
        wait = ratelimit.wait_seconds(username, client_ip(request))
        if wait:
            form = self.get_form()
            form.errors.clear()
            return self.render_to_response(
                self.get_context_data(form=form, throttled_for=wait), status=429
            )
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: Any) -> HttpResponse:
        ratelimit.record_failure(self.request.POST.get("username", ""), client_ip(self.request))
        return super().form_invalid(form)

    def form_valid(self, form: Any) -> HttpResponse:
        ratelimit.record_success(form.get_user().get_username(), client_ip(self.request))
        return super().form_valid(form)


class PasswordResetView(auth_views.PasswordResetView):
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    """Reset links point at PUBLIC_BASE_URL, not at whatever Host header the request had."""

    def form_valid(self, form: Any) -> HttpResponse:
        self.extra_email_context = {"public_base_url": settings.PUBLIC_BASE_URL}
        return super().form_valid(form)


@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    """The signed-in user's API tokens: create (shown once), list, revoke."""
    created = None
    form_errors: dict[str, list[str]] = {}
    if request.method == "POST":
        expires = request.POST.get("expires_on", "")
        try:
            expires_at = (
                timezone.make_aware(
                    dt.datetime.combine(dt.date.fromisoformat(expires), dt.time.max)
                )
                if expires
                else None
            )
            token, plaintext = services.api_token_create(
                user=request.user,
                name=request.POST.get("name", ""),
                scopes=request.POST.getlist("scopes"),
                expires_at=expires_at,
            )
            created = {"token": token, "plaintext": plaintext}
        except ValueError:
            form_errors = {"expires_on": ["Use the form YYYY-MM-DD."]}
        except errors.ValidationFailed as exc:
            form_errors = exc.fields
    tokens = request.user.api_tokens.all()
    status = 400 if form_errors else 200
    return render(
        request,
        "account/api_tokens.html",
        {"tokens": tokens, "created": created, "form_errors": form_errors,
         "scopes": services.API_SCOPES, "now": timezone.now()},
        status=status,
    )  # fmt: skip


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(request.user.api_tokens, pk=pk)
    services.api_token_revoke(token=token, actor=request.user)
    messages.success(request, f"Token {token.name} is revoked; it no longer works.")
    return redirect("api_tokens")


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process serves requests. Touches no backing service."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 only when PostgreSQL and Redis both answer; 503 names the one that fails."""
    checks = {"postgres": health.check_postgres(), "redis": health.check_redis()}
    failed = {name: reason for name, reason in checks.items() if reason}
    body = {
        "status": "unavailable" if failed else "ok",
        "checks": {name: (reason or "ok") for name, reason in checks.items()},
    }
    return JsonResponse(body, status=503 if failed else 200)


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", {"message": str(exception or "")}, status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    # No context processors: the database may be what failed.
    from django.template import loader

    return HttpResponse(loader.get_template("500.html").render(), status=500)


@require_POST
@role_required(Role.FINANCE, Role.ADMIN)
def mail_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Operations' Retry button on a failed or stuck e-mail: due again now, attempts anew."""
    message = get_object_or_404(MailMessage, pk=pk)
    try:
        mail.mail_retry(message_id=message.pk, actor=request.user)
    except errors.Conflict as exc:
        messages.info(request, str(exc))
    else:
        messages.success(request, f"{message.label or message.idempotency_key}: sending again now.")
    return redirect("operations")

"""Pages every area shares: sign-in, password reset, API tokens, health checks, error pages."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms.utils import ErrorDict
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
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


class ThrottledLogin:
    """Sign-in slowed down after repeated failures (psa.kernel.ratelimit): while an account or
    address must wait, a POST is answered 429 without checking the password at all."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = request.POST.get("username", "")
        wait = ratelimit.wait_seconds(username, client_ip(request))
        if wait:
            # An unbound form: binding it would check the password (and count a failure).
            form = self.get_form_class()(request, initial={"username": username})
            message = f"Too many failed attempts. Please wait {wait} seconds before trying again."
            form._errors = ErrorDict({NON_FIELD_ERRORS: form.error_class([message])})
            return self.render_to_response(
                self.get_context_data(form=form, throttled_for=wait), status=429
            )
        return super().post(request, *args, **kwargs)  # type: ignore[misc]

    def form_invalid(self, form: Any) -> HttpResponse:
        ratelimit.record_failure(self.request.POST.get("username", ""), client_ip(self.request))
        return super().form_invalid(form)  # type: ignore[misc]

    def form_valid(self, form: Any) -> HttpResponse:
        ratelimit.record_success(form.get_user().get_username(), client_ip(self.request))
        return super().form_valid(form)  # type: ignore[misc]


class LoginView(ThrottledLogin, auth_views.LoginView):
    """Django's login, slowed down after repeated failures."""

    redirect_authenticated_user = True


class AdminLoginView(ThrottledLogin, auth_views.LoginView):
    """The Django admin's sign-in, throttled like ours (it is routed before admin.site.urls).
    As AdminSite.login: staff only, the admin's template and context, back to the admin."""

    authentication_form = AdminAuthenticationForm
    template_name = "admin/login.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {
            **admin.site.each_context(self.request),
            "title": "Log in",
            "subtitle": None,
            "app_path": self.request.get_full_path(),
            "username": self.request.user.get_username(),
            **super().get_context_data(**kwargs),
        }

    def get_default_redirect_url(self) -> str:
        return reverse("admin:index")


# Password-reset e-mails per address, and per requesting address four times as many, an hour.
PASSWORD_RESETS_PER_HOUR = 3


class PasswordResetView(auth_views.PasswordResetView):
    """Reset links point at PUBLIC_BASE_URL, not at whatever Host header the request had;
    requests are throttled per e-mail and per address (no mail flood through our server)."""

    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        email = request.POST.get("email", "").strip().lower()
        account = hashlib.sha256(email.encode()).hexdigest()[:32]
        over = [
            ratelimit.hit(f"pw-reset:acct:{account}", limit=PASSWORD_RESETS_PER_HOUR,
                          window=ratelimit.WINDOW_SECONDS),
            ratelimit.hit(f"pw-reset:ip:{client_ip(request)}",
                          limit=PASSWORD_RESETS_PER_HOUR * ratelimit.IP_FACTOR,
                          window=ratelimit.WINDOW_SECONDS),
        ]  # fmt: skip
        if any(over):
            form = self.get_form_class()(initial={"email": email})
            message = "Too many reset requests. Please wait an hour, or ask an administrator."
            form._errors = ErrorDict({NON_FIELD_ERRORS: form.error_class([message])})
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(ratelimit.WINDOW_SECONDS)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: Any) -> HttpResponse:
        self.extra_email_context = {"public_base_url": settings.PUBLIC_BASE_URL}
        # A failed send (SMTP down, or slower than EMAIL_TIMEOUT) is logged by Django's form
        # and the page answers as usual: it never tells whether an address has an account.
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

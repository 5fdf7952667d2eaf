"""Project-wide pages: home dashboard, sign-in, health checks, error pages."""

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

from psa import clock, errors, health, ratelimit, services
from psa.models import JobRun
from psa.roles import Role, role_required
from psa.selectors import dashboard_for


def client_ip(request: HttpRequest) -> str:
    # Behind a proxy, configure it to set REMOTE_ADDR (e.g. gunicorn --forwarded-allow-ips);
    # X-Forwarded-For is never trusted here because any client can forge it.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


class LoginView(auth_views.LoginView):
    """Django's login, slowed down after repeated failures (psa.ratelimit)."""

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


@role_required(Role.FINANCE, Role.ADMIN)
def operations(request: HttpRequest) -> HttpResponse:
    """What the automation did, what it will do next, and what needs a person."""
    from billing.payment_selectors import attempts_needing_attention
    from psa import operations as ops

    now = timezone.now()
    job_filter = request.GET.get("job", "")
    runs = JobRun.objects.all()
    if job_filter:
        runs = runs.filter(job=job_filter)
    unbilled = ops.unbilled_approved_time()
    return render(
        request,
        "operations.html",
        {
            "now": now,
            "jobs": ops.jobs_overview(now),
            "runs": runs[:30],
            "job_filter": job_filter,
            "queue": ops.queue_depth(),
            "unbilled": unbilled,
            "unbilled_hours": ops.total(unbilled, "hours"),
            "deliveries": ops.failed_deliveries(now),
            "drafts": ops.drafts_awaiting_review(now),
            "clock_control": settings.CLOCK_CONTROL,
            "product_today": clock.today(),
            "clock_offset": clock.offset(),
            "awaiting_posting": ops.awaiting_posting(),
            "payment_attempts": attempts_needing_attention(visible_to=request.user, now=now),
        },
    )


@login_required
def home(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    return render(request, "home.html", {"today": today, **dashboard_for(request.user, today)})


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
def clock_advance(request: HttpRequest) -> HttpResponse:
    """Demo only: move the clock a day and let the worker run the day's jobs."""
    from psa.celery import enqueue_on_commit
    from psa.tasks import run_daily_cycle

    if not settings.CLOCK_CONTROL:
        raise errors.PermissionDenied("The clock only moves in the demo.")
    clock.advance(days=1)
    enqueue_on_commit(run_daily_cycle)
    messages.success(
        request, f"It is now {clock.today():%A %d %B %Y}: the day's jobs are running on the worker."
    )
    return redirect("operations")


@role_required(Role.FINANCE, Role.ADMIN)
def automation(request: HttpRequest) -> HttpResponse:
    """Automation policies: each legal entity's, and the customers' and projects' overrides."""
    from crm.models import Customer
    from ledger.models import LegalEntity
    from projects.models import Project
    from psa.automation import SETTINGS, automation_policy_delete, automation_policy_set
    from psa.models import AutomationPolicy, InvoicingCalendar

    error = None
    if request.method == "POST":
        entity = get_object_or_404(LegalEntity, code=request.POST.get("entity", ""))
        try:
            if request.POST.get("remove"):
                policy = get_object_or_404(
                    AutomationPolicy, pk=request.POST["remove"], legal_entity=entity
                )
                automation_policy_delete(policy=policy, actor=request.user)
                messages.success(request, "Override removed: the entity's settings apply.")
            else:
                customer = project = None
                if request.POST.get("customer"):
                    customer = get_object_or_404(
                        Customer, pk=request.POST["customer"], legal_entity=entity
                    )
                if request.POST.get("project"):
                    project = get_object_or_404(
                        Project, pk=request.POST["project"], legal_entity=entity
                    )
                automation_policy_set(
                    legal_entity=entity,
                    customer=customer,
                    project=project,
                    actor=request.user,
                    values=request.POST.dict(),
                )
                messages.success(request, "Automation policy saved.")
        except (errors.ValidationFailed, errors.Conflict) as exc:
            error = exc
        else:
            return redirect("automation")
    entities = list(LegalEntity.objects.order_by("name"))
    policies = AutomationPolicy.objects.select_related("customer", "project").order_by("id")
    by_entity = {p.legal_entity_id: p for p in policies if not p.customer_id and not p.project_id}
    overrides = [p for p in policies if p.customer_id or p.project_id]
    return render(
        request,
        "automation.html",
        {
            "entities": [(e, by_entity.get(e.pk)) for e in entities],
            "overrides": overrides,
            "switches": [
                ("auto_approve", "Auto-approve time (by the project's approval rules)"),
                ("release_milestones", "Mark milestones reached on their planned date"),
                ("auto_issue", "Issue the drafts of scheduled billing runs"),
                ("auto_send", "E-mail issued invoices"),
                ("autopay", "Charge saved cards on the due date"),
                ("dunning", "Send payment reminders"),
            ],
            "settings": SETTINGS,
            "calendars": InvoicingCalendar.choices,
            "customers": Customer.objects.select_related("legal_entity").order_by("name"),
            "projects": Project.objects.select_related("legal_entity").order_by("code"),
            "error": error,
        },
        status=400 if error else 200,
    )

"""The automation layer's pages: the home dashboard, operations, automation policies and the
demo clock."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing.selectors.payments import attempts_needing_attention
from crm.models import Customer
from ledger.models import LegalEntity
from projects.models import Project
from psa.automation import operations as ops
from psa.automation.models import AutomationPolicy, InvoicingCalendar, JobRun
from psa.automation.policies import SETTINGS, automation_policy_delete, automation_policy_set
from psa.automation.selectors import dashboard_for
from psa.automation.tasks import run_daily_cycle
from psa.kernel import clock, errors
from psa.kernel.mail import mail_problems
from psa.kernel.mail import max_attempts as mail_max_attempts
from psa.kernel.queue import enqueue_on_commit
from psa.kernel.roles import Role, role_required


@role_required(Role.FINANCE, Role.ADMIN)
def operations(request: HttpRequest) -> HttpResponse:
    """What the automation did, what it will do next, and what needs a person."""

    now = timezone.now()
    job_filter = request.GET.get("job", "")
    runs = JobRun.objects.all()
    if job_filter:
        runs = runs.filter(job=job_filter)
    unbilled = ops.unbilled_approved_time()
    waiting_weeks = ops.weeks_awaiting_approval(now)
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
            "waiting_weeks": waiting_weeks,
            "waiting_hours": ops.total(waiting_weeks, "hours"),
            "unsent": ops.invoices_not_sent(now),
            "clock_control": settings.CLOCK_CONTROL,
            "product_today": clock.today(),
            "clock_offset": clock.offset(),
            "awaiting_posting": ops.awaiting_posting(),
            "payment_attempts": attempts_needing_attention(visible_to=request.user, now=now),
            "mail_problems": mail_problems(now=now),
            "mail_max_attempts": mail_max_attempts(),
        },
    )


@login_required
def home(request: HttpRequest) -> HttpResponse:
    today = clock.today()
    return render(request, "home.html", {"today": today, **dashboard_for(request.user, today)})


@require_POST
@role_required(Role.FINANCE, Role.ADMIN)
def clock_advance(request: HttpRequest) -> HttpResponse:
    """Demo only: move the clock a day and let the worker run the day's jobs."""

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
                ("auto_approve", "Auto-approve time (where the approval policies hold)"),
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

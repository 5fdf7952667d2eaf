"""Views of the timesheets app (see STYLE.md: HTML/htmx function views)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from projects.models import Task
from psa.kernel import clock, errors
from psa.kernel.dates import date_problem
from psa.kernel.roles import Role, has_role, role_required
from timesheets import selectors, services
from timesheets.forms import ApprovalPolicyForm, OverrideScopeForm
from timesheets.models import Expense, ExpenseCategory

LOGGERS = (Role.CONSULTANT, Role.PROJECT_MANAGER)
_ROW_KEY = re.compile(r"\d+-\d+")
APPROVERS = (Role.PROJECT_MANAGER, Role.FINANCE)


def _monday(text: str | None) -> dt.date:
    if not text:
        return selectors.week_start(clock.today())
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise errors.NotFound("No such week.") from None
    if date_problem(day, operational=True):
        raise errors.NotFound("No such week.")
    return selectors.week_start(day)


def _week_url(monday: dt.date) -> str:
    return reverse("timesheets:week_of", args=[monday.isoformat()])


@role_required(*LOGGERS)
def week(request: HttpRequest, day: str | None = None) -> HttpResponse:
    monday = _monday(day)
    # Rows asked for with "Add a row" (a plain GET form, so it works without JavaScript).
    extra = frozenset(k for k in request.GET.getlist("row") if _ROW_KEY.fullmatch(k))
    grid = selectors.week_grid(person=request.user, week_start=monday, extra_rows=extra)
    return render(
        request,
        "timesheets/week.html",
        {
            "grid": grid,
            "today": clock.today(),
            "prev_week": monday - dt.timedelta(days=7),
            "next_week": monday + dt.timedelta(days=7),
            "history": selectors.week_history(grid.entries, person=request.user, week_start=monday),
        },
    )


@require_POST
@role_required(*LOGGERS)
def cell(request: HttpRequest) -> HttpResponse:
    """Save one cell (htmx): answers with the cell and, out of band, the totals it moves."""
    user = request.user
    project = selectors.project_for_time(user, request.POST.get("project"))
    task_id = request.POST.get("task") or ""
    task = None
    if task_id not in ("", "0"):
        task = Task.objects.filter(pk=task_id if task_id.isdigit() else 0, project=project).first()
        if task is None:
            raise errors.NotFound("No such task.")
    try:
        date = dt.date.fromisoformat(request.POST.get("date", ""))
    except ValueError:
        raise errors.ValidationFailed("Pick a day.", fields={"date": "Not a date."}) from None
    # The cell's note/billable fields come along with its hours; an API-like caller that sends
    # hours alone leaves them as they are.
    detail = request.POST.get("detail") == "1"
    error = ""
    try:
        services.time_entry_save(
            actor=user,
            person=user,
            project=project,
            task=task,
            date=date,
            hours=request.POST.get("hours", ""),
            note=request.POST.get("note", "") if detail else None,
            billable=request.POST.get("billable") == "on" if detail else None,
        )
    except (errors.ValidationFailed, errors.Conflict) as exc:
        # Shown in the cell, which keeps what was typed so it can be corrected in place.
        error = exc.message
    key = selectors.row_key(project.pk, task.pk if task else None)
    grid = selectors.week_grid(
        person=user, week_start=selectors.week_start(date), extra_rows=frozenset([key])
    )
    row = grid.row(key)
    cell = next(c for c in row.cells if c.date == date) if row else None
    if cell is None:  # the row went away (a closed project's last entry was cleared)
        return HttpResponse(status=204, headers={"HX-Refresh": "true"})
    if error:
        cell.error = error
        cell.typed = request.POST.get("hours", "")
    day_total = next(d for d in grid.day_totals if d["date"] == date)
    return render(
        request,
        "timesheets/week.html#cell_saved",
        {
            "grid": grid,
            "row": row,
            "cell": cell,
            "d": day_total,
            "oob": True,
            "today": clock.today(),
        },
    )


@require_POST
@role_required(*LOGGERS)
def submit(request: HttpRequest, day: str) -> HttpResponse:
    monday = _monday(day)
    try:
        n = services.week_submit(actor=request.user, person=request.user, week_start=monday)
    except errors.ValidationFailed as exc:
        messages.error(request, exc.message)
    else:
        if n:
            messages.success(request, f"Week submitted: {n} entr{'y' if n == 1 else 'ies'}.")
        else:
            messages.info(request, "This week was submitted already.")
    return redirect(_week_url(monday))


@require_POST
@role_required(*LOGGERS)
def copy_previous(request: HttpRequest, day: str) -> HttpResponse:
    monday = _monday(day)
    n = services.week_copy_previous(actor=request.user, person=request.user, week_start=monday)
    if n:
        messages.success(request, f"Copied {n} entr{'y' if n == 1 else 'ies'} from last week.")
    else:
        messages.info(request, "Nothing to copy: last week is empty or its cells are taken.")
    return redirect(_week_url(monday))


# --- approvals ---------------------------------------------------------------------------


@role_required(*APPROVERS)
def approvals(request: HttpRequest) -> HttpResponse:
    pending = selectors.approvals_pending(approver=request.user)
    return render(
        request,
        "timesheets/approvals.html",
        {
            "pending": pending,
            "expenses": list(selectors.expenses_pending(approver=request.user)[:200]),
            "sees_all": has_role(request.user, Role.FINANCE),
        },
    )


@require_POST
@role_required(*APPROVERS)
def expenses_decide(request: HttpRequest) -> HttpResponse:
    ids = [int(x) for x in request.POST.getlist("expense") if x.isdigit()]
    if not ids:
        messages.error(request, "Tick at least one expense.")
        return redirect("timesheets:approvals")
    approve = request.POST.get("decision") == "approve"
    try:
        n = services.expenses_decide(
            actor=request.user,
            expense_ids=ids,
            approve=approve,
            reason=request.POST.get("reason", ""),
        )
    except errors.ValidationFailed as exc:
        messages.error(request, exc.message)
        return redirect("timesheets:approvals")
    verb = "Approved" if approve else "Rejected"
    messages.success(request, f"{verb} {n} expense{'' if n == 1 else 's'}.")
    return redirect("timesheets:approvals")


def _person_week(request: HttpRequest, key: str) -> tuple[Any, dt.date]:
    """ "<person id>:<monday>" -> (person, monday), limited to people whose time the
    approver may see."""
    person_id, _, monday = key.partition(":")
    try:
        start = dt.date.fromisoformat(monday)
    except ValueError:
        raise errors.NotFound("No such week.") from None
    visible = selectors.time_visible_to(request.user).values("person_id")
    person = (
        get_user_model()
        .objects.filter(pk=int(person_id) if person_id.isdigit() else 0, pk__in=visible)
        .first()
    )
    if person is None:
        raise errors.NotFound("No such person.")
    return person, start


@require_POST
@role_required(*APPROVERS)
def approve(request: HttpRequest) -> HttpResponse:
    keys = request.POST.getlist("week")
    if not keys:
        messages.error(request, "Tick at least one week to approve.")
        return redirect("timesheets:approvals")
    total = 0
    for key in keys:
        person, monday = _person_week(request, key)
        total += services.week_approve(actor=request.user, person=person, week_start=monday)
    messages.success(request, f"Approved {total} entr{'y' if total == 1 else 'ies'}.")
    return redirect("timesheets:approvals")


@require_POST
@role_required(*APPROVERS)
def reject(request: HttpRequest) -> HttpResponse:
    person, monday = _person_week(request, request.POST.get("week", ""))
    day_text = request.POST.get("day", "")
    try:
        day = dt.date.fromisoformat(day_text) if day_text else None
    except ValueError:
        raise errors.ValidationFailed("Pick a day.", fields={"day": "Not a date."}) from None
    try:
        n = services.week_reject(
            actor=request.user,
            person=person,
            week_start=monday,
            day=day,
            reason=request.POST.get("reason", ""),
        )
    except errors.ValidationFailed as exc:
        messages.error(request, f"Not rejected: {exc.message}")
    else:
        messages.success(request, f"Sent {n} entr{'y' if n == 1 else 'ies'} back to {person}.")
    return redirect("timesheets:approvals")


# --- expenses ----------------------------------------------------------------------------


@role_required(*LOGGERS)
def expenses(request: HttpRequest) -> HttpResponse:
    user = request.user
    projects = list(selectors.projects_open_for_time(user))
    form: dict[str, Any] = {
        "date": clock.today().isoformat(),
        "currency": "",
        "billable": True,
    }
    error = None
    if request.method == "POST":
        form = request.POST.dict() | {"billable": request.POST.get("billable") == "on"}
        try:
            project = selectors.project_for_time(user, request.POST.get("project"))
            try:
                date = dt.date.fromisoformat(request.POST.get("date", ""))
            except ValueError:
                raise errors.ValidationFailed(
                    "Pick the day of the expense.", fields={"date": "Not a date."}
                ) from None
            services.expense_create(
                actor=user,
                person=user,
                project=project,
                date=date,
                amount=request.POST.get("amount", ""),
                currency=request.POST.get("currency", "") or project.currency,
                category=request.POST.get("category", ""),
                description=request.POST.get("description", ""),
                billable=form["billable"],
                markup_percent=request.POST.get("markup_percent", "") or 0,
                receipt=request.FILES.get("receipt"),
            )
        except (errors.ValidationFailed, errors.NotFound) as exc:
            error = exc
        else:
            messages.success(request, "Expense added.")
            return redirect("timesheets:expenses")
    mine = Expense.objects.filter(person=user).select_related("project")[:100]
    return render(
        request,
        "timesheets/expenses.html",
        {
            "expenses": mine,
            "projects": projects,
            "categories": ExpenseCategory.choices,
            "form": form,
            "error": error,
        },
        status=400 if error else 200,
    )


@role_required(Role.FINANCE, Role.ADMIN)
def policies(request: HttpRequest) -> HttpResponse:
    """Approval policies: each legal entity's default and the customers' and projects'
    overrides, edited with a form that says what each rule does."""
    error = None
    forms_by_entity = {}
    override_form = ApprovalPolicyForm(override=True, prefix="o")
    scope_form = OverrideScopeForm(prefix="o")
    if request.method == "POST":
        try:
            done = _policy_post(request)
        except errors.DomainError as exc:
            error = exc
        else:
            if done is not None:
                messages.success(request, done)
                return redirect("timesheets:policies")
            if request.POST.get("entity"):
                forms_by_entity[request.POST["entity"]] = ApprovalPolicyForm(
                    request.POST, override=False, prefix=request.POST["entity"]
                )
            else:
                override_form = ApprovalPolicyForm(request.POST, override=True, prefix="o")
                scope_form = OverrideScopeForm(request.POST, prefix="o")
            error = errors.ValidationFailed("Please correct the highlighted fields.")
    rows = selectors.approval_policies_overview()
    for row in rows["entities"]:
        code = row["entity"].code
        row["form"] = forms_by_entity.get(code) or ApprovalPolicyForm(
            initial=row["values"], override=False, prefix=code
        )
    return render(
        request,
        "timesheets/policies.html",
        {**rows, "override_form": override_form, "scope_form": scope_form, "error": error},
        status=400 if error else 200,
    )


def _policy_post(request: HttpRequest) -> str | None:
    """Apply the posted change; its message, or None when a form is invalid."""
    if request.POST.get("remove"):
        pk = request.POST["remove"]
        policy = (
            selectors.approval_policy_visible_to(request.user)
            .filter(pk=int(pk) if pk.isdigit() else 0, legal_entity__isnull=True)
            .first()
        )
        if policy is None:
            raise errors.NotFound("No such override.")
        services.approval_policy_delete(actor=request.user, policy=policy)
        return "Override removed: the rules it stated are inherited again."
    code = request.POST.get("entity", "")
    if code:
        entity = selectors.legal_entity_by_code(code)
        form = ApprovalPolicyForm(request.POST, override=False, prefix=code)
        if not form.is_valid():
            return None
        services.approval_policy_set(actor=request.user, legal_entity=entity, **form.rules())
        return f"Approval policy of {entity.name} saved."
    form = ApprovalPolicyForm(request.POST, override=True, prefix="o")
    scope = OverrideScopeForm(request.POST, prefix="o")
    if not (form.is_valid() and scope.is_valid()):
        return None
    services.approval_policy_set(
        actor=request.user,
        customer=scope.cleaned_data["customer"] if not scope.cleaned_data["project"] else None,
        project=scope.cleaned_data["project"],
        **form.rules(),
    )
    return "Override saved."

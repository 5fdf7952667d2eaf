"""Views of the projects app (see STYLE.md: HTML/htmx function views)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from projects import selectors, services
from projects.models import MilestoneStatus, RateCard
from psa.kernel import clock, errors
from psa.kernel.roles import Role, has_role, role_required

VIEWERS = (Role.CONSULTANT, Role.PROJECT_MANAGER, Role.FINANCE)


@role_required(*VIEWERS)
def project_list(request: HttpRequest) -> HttpResponse:
    projects = selectors.with_hours(selectors.project_list_visible_to(request.user))
    return render(request, "projects/project_list.html", {"projects": projects})


@role_required(*VIEWERS)
def project_detail(request: HttpRequest, code: str) -> HttpResponse:
    project = selectors.project_get_for_user(request.user, code)
    # Money is for the people who answer for it: the project's manager and finance.
    show_money = has_role(request.user, Role.FINANCE) or project.manager_id == request.user.pk
    return render(
        request,
        "projects/project_detail.html",
        {
            "project": project,
            "show_money": show_money,
            "is_finance": has_role(request.user, Role.FINANCE),
            "figures": selectors.project_figures(project),
            "burn": selectors.project_burn(project),
            "team": selectors.project_team(project),
            "milestones": project.milestones.select_related("service_item"),
            "can_manage": show_money,
            "roles": sorted({a.role for a in project.assignments.all() if a.role}),
            "planned": MilestoneStatus.PLANNED,
            "tasks": project.tasks.all(),
            "rates": (
                RateCard.objects.filter(project=project).select_related("person")
                if show_money
                else []
            ),
            "activity": selectors.project_activity(project),
        },
    )


@require_POST
@role_required(Role.PROJECT_MANAGER, Role.FINANCE)
def milestone_reach(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    project = selectors.project_get_for_user(request.user, code)
    if not (has_role(request.user, Role.FINANCE) or project.manager_id == request.user.pk):
        raise errors.PermissionDenied("Only the project's manager or finance marks milestones.")
    milestone = project.milestones.filter(pk=pk).first()
    if milestone is None:
        raise errors.NotFound("No such milestone.")
    services.milestone_reach(milestone=milestone, on=clock.today(), actor=request.user)
    messages.success(request, f"{milestone.name} reached.")
    return redirect("projects:detail", code=project.code)


@require_POST
@role_required(Role.PROJECT_MANAGER, Role.FINANCE)
def rate_change(request: HttpRequest, code: str) -> HttpResponse:
    import datetime as dt

    project = selectors.project_get_for_user(request.user, code)
    if not (has_role(request.user, Role.FINANCE) or project.manager_id == request.user.pk):
        raise errors.PermissionDenied("Only the project's manager or finance changes rates.")
    who = request.POST.get("who", "")
    person = None
    if who.startswith("person:"):
        person_id = who.removeprefix("person:")
        assignment = project.assignments.filter(
            person_id=int(person_id) if person_id.isdigit() else 0
        ).first()
        if assignment is None:
            raise errors.NotFound("No such person on the project.")
        person = assignment.person
    try:
        start = dt.date.fromisoformat(request.POST.get("effective_from", ""))
    except ValueError:
        messages.error(request, "Rate not changed: pick the day it starts.")
        return redirect("projects:detail", code=project.code)
    try:
        services.rate_card_change(
            project=project,
            rate=request.POST.get("rate", ""),
            effective_from=start,
            person=person,
            role=who.removeprefix("role:") if who.startswith("role:") else "",
            actor=request.user,
        )
    except errors.ValidationFailed as exc:
        messages.error(request, f"Rate not changed: {exc.message}")
    else:
        messages.success(request, "Rate changed.")
    return redirect("projects:detail", code=project.code)

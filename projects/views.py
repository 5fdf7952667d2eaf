"""Views of the projects app (see STYLE.md: HTML/htmx function views)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from projects import selectors
from projects.models import RateCard
from psa.roles import Role, has_role, role_required

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
            "figures": selectors.project_figures(project),
            "burn": selectors.project_burn(project),
            "team": selectors.project_team(project),
            "milestones": project.milestones.select_related("service_item"),
            "tasks": project.tasks.all(),
            "rates": (
                RateCard.objects.filter(project=project).select_related("person")
                if show_money
                else []
            ),
            "activity": selectors.project_activity(project),
        },
    )

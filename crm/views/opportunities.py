"""Opportunities: list, create, edit, win (customer and project), lose."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from crm import selectors, services
from crm.forms import (
    OpportunityForm,
    WinForm,
    apply_errors,
)
from psa.kernel import clock, errors
from psa.kernel.audit import audit_history
from psa.kernel.roles import Role, has_role, role_required

SALES = (Role.PROJECT_MANAGER, Role.FINANCE)


# --- opportunities ------------------------------------------------------------------------


@role_required(*SALES)
def opportunity_list(request: HttpRequest) -> HttpResponse:
    opps = selectors.opportunity_list_visible_to(request.user)
    show = request.GET.get("show", "open")
    if show == "open":
        opps = opps.filter(stage__in=["prospecting", "proposal", "negotiation"])
    return render(request, "crm/opportunity_list.html", {"opportunities": opps[:500], "show": show})


@role_required(*SALES)
def opportunity_create(request: HttpRequest) -> HttpResponse:
    customers = selectors.customer_list_visible_to(request.user)
    form = OpportunityForm(request.POST or None, customers=customers)
    form.fields["customer"].required = True
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if not data.get("currency"):
            data.pop("currency", None)
        try:
            opp = services.opportunity_create(actor=request.user, **data)
        except errors.ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            return redirect("crm:opportunity_detail", pk=opp.pk)
    status = 400 if form.errors else 200
    return render(request, "crm/opportunity_form.html", {"form": form}, status=status)


@role_required(*SALES)
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    opp = selectors.opportunity_get_for_user(request.user, pk)
    win_form = WinForm(
        initial={
            "project_name": opp.name,
            "template": getattr(services.opportunity_planned_template(opp), "pk", None),
            "manager": request.user.pk if has_role(request.user, Role.PROJECT_MANAGER) else None,
            "start_date": clock.today(),
        }
    )
    ctx = {"opp": opp, "win_form": win_form, "history": audit_history(opp)[:30]}
    return render(request, "crm/opportunity_detail.html", ctx)


@role_required(*SALES)
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    opp = selectors.opportunity_get_for_user(request.user, pk)
    form = OpportunityForm(request.POST or None, instance=opp)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if not data.get("currency"):
            data.pop("currency", None)
        try:
            services.opportunity_update(opportunity=opp, actor=request.user, **data)
        except errors.ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            return redirect("crm:opportunity_detail", pk=opp.pk)
    status = 400 if form.errors else 200
    return render(request, "crm/opportunity_form.html", {"form": form, "opp": opp}, status=status)


@require_POST
@role_required(*SALES)
def opportunity_win(request: HttpRequest, pk: int) -> HttpResponse:
    opp = selectors.opportunity_get_for_user(request.user, pk)
    form = WinForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            opp = services.opportunity_win(
                opportunity=opp,
                actor=request.user,
                template=data["template"],
                project_code=data["project_code"],
                project_name=data["project_name"],
                start_date=data["start_date"],
                manager=data["manager"],
            )
        except errors.ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            return redirect("crm:opportunity_detail", pk=opp.pk)
    ctx = {"opp": opp, "win_form": form, "history": audit_history(opp)[:30]}
    return render(request, "crm/opportunity_detail.html", ctx, status=400)


@require_POST
@role_required(*SALES)
def opportunity_lose(request: HttpRequest, pk: int) -> HttpResponse:
    opp = selectors.opportunity_get_for_user(request.user, pk)
    services.opportunity_lose(
        opportunity=opp, actor=request.user, reason=request.POST.get("reason", "")
    )
    return redirect("crm:opportunity_detail", pk=opp.pk)

"""The lead pipeline of managers and finance: board, detail, transitions."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from crm import selectors, services
from crm.forms import (
    LeadManualForm,
    OpportunityForm,
    ReasonForm,
    apply_errors,
)
from crm.models import LeadSource
from psa.kernel import errors
from psa.kernel.audit import audit_history
from psa.kernel.roles import Role, role_required

SALES = (Role.PROJECT_MANAGER, Role.FINANCE)


# --- the lead pipeline --------------------------------------------------------------------


def _pipeline_response(
    request: HttpRequest, error: errors.DomainError | None = None
) -> HttpResponse:
    ctx = {"columns": selectors.lead_pipeline(request.user), "board_error": error}
    return render(request, "crm/lead_pipeline.html#board", ctx)


def _lead_action(request: HttpRequest, action: Any) -> HttpResponse | None:
    """Run a pipeline action. For htmx a refused move (e.g. someone else just converted the
    lead) comes back as the refreshed board with the message, since htmx does not swap 4xx
    responses; plain requests let the error become its 4xx page."""
    try:
        action()
    except errors.DomainError as exc:
        if not request.htmx:
            raise
        return _pipeline_response(request, error=exc)
    return None


@role_required(*SALES)
def lead_pipeline(request: HttpRequest) -> HttpResponse:
    ctx = {"columns": selectors.lead_pipeline(request.user)}
    template = "crm/lead_pipeline.html#board" if request.htmx else "crm/lead_pipeline.html"
    return render(request, template, ctx)


@role_required(*SALES)
def lead_new(request: HttpRequest) -> HttpResponse:
    """A lead entered by hand; duplicates attach exactly as for the web form."""
    default = selectors.lead_form_key_default()
    initial = {
        "owner": request.user.pk,
        "legal_entity": default.legal_entity_id if default else None,
    }
    form = LeadManualForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            intake = services.lead_create(
                source=LeadSource.MANUAL,
                actor=request.user,
                legal_entity=data.pop("legal_entity"),
                owner=data.pop("owner") or request.user,
                **data,
            )
        except errors.ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            if not intake.created:
                messages.info(request, "Same e-mail as an open lead: the notes were added to it.")
            elif intake.lead.customer_id:
                messages.info(request, f"Linked to the existing customer {intake.lead.customer}.")
            return redirect("crm:lead_detail", pk=intake.lead.pk)
    status = 400 if form.errors else 200
    return render(request, "crm/lead_new.html", {"form": form}, status=status)


@role_required(*SALES)
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = selectors.lead_get_for_user(request.user, pk)
    ctx = {
        "lead": lead,
        "history": audit_history(lead)[:50],
        "opportunities": lead.opportunities.all(),
        "reason_form": ReasonForm(),
    }
    return render(request, "crm/lead_detail.html", ctx)


def _after_lead_action(request: HttpRequest, lead_pk: int) -> HttpResponse:
    if request.htmx:
        return _pipeline_response(request)
    if request.POST.get("next") == "detail":
        return redirect("crm:lead_detail", pk=lead_pk)
    return redirect("crm:lead_pipeline")


@require_POST
@role_required(*SALES)
def lead_qualify(request: HttpRequest, pk: int) -> HttpResponse:
    lead = selectors.lead_get_for_user(request.user, pk)
    refused = _lead_action(request, lambda: services.lead_qualify(lead=lead, actor=request.user))
    return refused or _after_lead_action(request, lead.pk)


@require_POST
@role_required(*SALES)
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    lead = selectors.lead_get_for_user(request.user, pk)
    refused = _lead_action(request, lambda: services.lead_convert(lead=lead, actor=request.user))
    if refused:
        return refused
    if not request.htmx and request.POST.get("next") != "pipeline":
        lead.refresh_from_db(fields=["customer"])
        return redirect("crm:customer_detail", pk=lead.customer_id)
    return _after_lead_action(request, lead.pk)


@require_POST
@role_required(*SALES)
def lead_disqualify(request: HttpRequest, pk: int) -> HttpResponse:
    lead = selectors.lead_get_for_user(request.user, pk)
    reason = request.POST.get("reason", "")
    refused = _lead_action(
        request, lambda: services.lead_disqualify(lead=lead, actor=request.user, reason=reason)
    )
    return refused or _after_lead_action(request, lead.pk)


@require_POST
@role_required(*SALES)
def lead_opportunity_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Open an opportunity for a lead (before it is a customer): name and value from the form."""
    lead = selectors.lead_get_for_user(request.user, pk)
    form = OpportunityForm(request.POST)
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "customer"}
        if not data.get("currency"):
            data.pop("currency", None)
        try:
            opp = services.opportunity_create(
                actor=request.user, customer=lead.customer, lead=lead, **data
            )
        except errors.ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            return redirect("crm:opportunity_detail", pk=opp.pk)
    return render(request, "crm/opportunity_form.html", {"form": form, "lead": lead}, status=400)

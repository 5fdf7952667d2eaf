"""Views of the crm app (see STYLE.md: HTML/htmx function views).

Two audiences: the public web-to-lead form (no login, embeddable by the firm's website) and
the pages of managers and finance (lead pipeline, customers, opportunities).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from crm import selectors, services
from crm.forms import (
    ContactForm,
    CustomerForm,
    LeadWebForm,
    OpportunityForm,
    ReasonForm,
    WinForm,
    apply_errors,
)
from crm.models import LeadFormKey, LeadSource
from psa.kernel import errors
from psa.kernel.audit import audit_history
from psa.kernel.roles import Role, has_role, role_required
from psa.kernel.views import client_ip

SALES = (Role.PROJECT_MANAGER, Role.FINANCE)

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
    """Count this submission for the caller's address; True once over the limit.

    add() + incr() are atomic in Redis, so concurrent web workers share one exact count and
    the window starts with the first submission.
    """
    key = f"lead-form:ip:{client_ip(request)}"
    cache.add(key, 0, LEAD_FORM_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr(): start a new window
        cache.add(key, 1, LEAD_FORM_WINDOW)
        count = 1
    return count > LEAD_FORM_LIMIT


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
    from crm.forms import LeadManualForm

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


# --- customers ----------------------------------------------------------------------------


@role_required(*SALES)
def customer_list(request: HttpRequest) -> HttpResponse:
    customers = selectors.customer_list_visible_to(request.user)
    query = request.GET.get("q", "").strip()
    if query:
        customers = customers.filter(name__icontains=query)
    ctx = {"customers": customers[:500], "query": query}
    template = "crm/customer_list.html#rows" if request.htmx else "crm/customer_list.html"
    return render(request, template, ctx)


@role_required(*SALES)
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from projects.models import Project

    customer = selectors.customer_get_for_user(request.user, pk)
    ctx = {
        "customer": customer,
        "contacts": customer.contacts.all(),
        "projects": Project.objects.filter(customer=customer).select_related("manager"),
        "leads": customer.leads.order_by("-created_at")[:20],
        "opportunities": customer.opportunities.all(),
        "history": audit_history(customer)[:30],
        "contact_form": ContactForm(),
    }
    return render(request, "crm/customer_detail.html", ctx)


def _customer_changes(form: CustomerForm) -> dict[str, Any]:
    return {k: v for k, v in form.cleaned_data.items() if k != "legal_entity"}


@role_required(*SALES)
def customer_create(request: HttpRequest) -> HttpResponse:
    form = CustomerForm(request.POST or None, initial={"currency": settings.DEFAULT_CURRENCY})
    if request.method == "POST" and form.is_valid():
        data = _customer_changes(form)
        try:
            customer = services.customer_create(
                actor=request.user,
                legal_entity=form.cleaned_data["legal_entity"],
                name=data.pop("name"),
                country=data.pop("country"),
                currency=data.pop("currency"),
                **data,
            )
        except errors.ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            return redirect("crm:customer_detail", pk=customer.pk)
    status = 400 if form.errors else 200
    return render(request, "crm/customer_form.html", {"form": form}, status=status)


@role_required(*SALES)
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_get_for_user(request.user, pk)
    form = CustomerForm(request.POST or None, instance=customer)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_update(
                customer=customer, actor=request.user, **_customer_changes(form)
            )
        except errors.ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            return redirect("crm:customer_detail", pk=customer.pk)
    status = 400 if form.errors else 200
    return render(
        request, "crm/customer_form.html", {"form": form, "customer": customer}, status=status
    )


@require_POST
@role_required(*SALES)
def contact_create(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_get_for_user(request.user, pk)
    form = ContactForm(request.POST)
    if form.is_valid():
        try:
            services.contact_create(actor=request.user, customer=customer, **form.cleaned_data)
        except errors.ValidationFailed as exc:
            apply_errors(form, exc)
    ctx = {"customer": customer, "contacts": customer.contacts.all(), "contact_form": form}
    if form.errors:
        status = 400
    else:
        status = 200
        ctx["contact_form"] = ContactForm()
    if request.htmx:
        return render(request, "crm/customer_detail.html#contacts", ctx, status=status)
    if status == 200:
        return redirect("crm:customer_detail", pk=customer.pk)
    return render(request, "crm/customer_detail.html", {**ctx, "history": []}, status=status)


@role_required(*SALES)
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_get_for_user(request.user, pk)
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(contact=contact, actor=request.user, **form.cleaned_data)
        except errors.ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, f"{contact.name} is saved.")
            return redirect("crm:customer_detail", pk=contact.customer_id)
    status = 400 if form.errors else 200
    return render(
        request, "crm/contact_form.html", {"form": form, "contact": contact}, status=status
    )


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
            "template": opp.project_template_id,
            "manager": request.user.pk if has_role(request.user, Role.PROJECT_MANAGER) else None,
            "start_date": timezone.localdate(),
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

"""Customers and their contacts."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from crm import selectors, services
from crm.forms import (
    ContactForm,
    CustomerForm,
    apply_errors,
)
from psa.kernel import errors
from psa.kernel.audit import audit_history
from psa.kernel.roles import Role, role_required

SALES = (Role.PROJECT_MANAGER, Role.FINANCE)


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
    customer = selectors.customer_get_for_user(request.user, pk)
    ctx = {
        "customer": customer,
        "contacts": customer.contacts.all(),
        "projects": selectors.customer_projects(customer),
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

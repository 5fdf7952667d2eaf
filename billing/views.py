"""Finance pages of billing: invoices, their detail and actions, and billing runs."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.files.base import ContentFile
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing import selectors, services
from billing.models import Invoice, InvoiceStatus
from billing.payment_selectors import invoice_payments
from billing.pdf import render_invoice_pdf
from crm.models import Customer
from ledger.models import JournalEntry, LegalEntity
from psa import errors
from psa.audit import audit_history
from psa.roles import Role, role_required

FINANCE = (Role.FINANCE,)


@role_required(*FINANCE)
def invoice_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    qs = selectors.invoice_filter(
        selectors.invoice_list_visible_to(request.user), request.GET, today
    )
    return render(
        request,
        "billing/invoice_list.html",
        {
            "invoices": qs.order_by("-issue_date", "-id")[:200],
            "totals": selectors.invoice_totals(qs),
            "statuses": InvoiceStatus.choices,
            "customers": Customer.objects.order_by("name").only("pk", "name"),
            "filters": request.GET,
            "today": today,
        },
    )


@role_required(*FINANCE)
def invoice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.invoice_get_for_user(request.user, pk)
    entries = JournalEntry.objects.filter(
        legal_entity=invoice.legal_entity, source_type=invoice.kind, source_id=str(invoice.pk)
    ).prefetch_related("lines__account")
    return render(
        request,
        "billing/invoice_detail.html",
        {
            **selectors.invoice_document(invoice),
            "entries": entries,
            "history": audit_history(invoice)[:50],
            "credit_note": Invoice.objects.filter(credits=invoice).first(),
            "today": timezone.localdate(),
            **invoice_payments(invoice),
        },
    )


@require_POST
@role_required(*FINANCE)
def invoice_issue(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.invoice_get_for_user(request.user, pk)
    issued = services.invoice_issue(invoice=invoice, actor=request.user)
    messages.success(request, f"Issued as {issued.number}, due {issued.due_date:%d %b %Y}.")
    return redirect("billing:invoice_detail", pk=pk)


@require_POST
@role_required(*FINANCE)
def invoice_void(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.invoice_get_for_user(request.user, pk)
    credit = services.invoice_void(
        invoice=invoice, actor=request.user, reason=request.POST.get("reason", "")
    )
    messages.success(
        request, f"Voided by credit note {credit.number}; its time can be billed again."
    )
    return redirect("billing:invoice_detail", pk=credit.pk)


@require_POST
@role_required(*FINANCE)
def invoice_send(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = selectors.invoice_get_for_user(request.user, pk)
    services.invoice_send(invoice=invoice, actor=request.user)
    to = services.invoice_recipient(invoice)
    messages.success(request, f"{invoice.number} is on its way to {to}.")
    return redirect("billing:invoice_detail", pk=pk)


@role_required(*FINANCE)
def invoice_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The stored PDF, rendered now if the task has not stored it yet (or it was lost)."""
    invoice = selectors.invoice_get_for_user(request.user, pk)
    if not invoice.pdf or not invoice.pdf.storage.exists(invoice.pdf.name):
        if invoice.status == InvoiceStatus.DRAFT:
            data = render_invoice_pdf(invoice)  # a draft's PDF is a preview: not stored
            return FileResponse(ContentFile(data), filename=f"draft-{invoice.pk}.pdf",
                                content_type="application/pdf")  # fmt: skip
        from billing.pdf import invoice_pdf_store

        invoice_pdf_store(invoice)
    return FileResponse(invoice.pdf.open("rb"), filename=f"{invoice.number}.pdf",
                        content_type="application/pdf")  # fmt: skip


def _run_form(request: HttpRequest) -> dict:
    entities = LegalEntity.objects.order_by("name")
    code = request.GET.get("entity") or request.POST.get("entity") or ""
    entity = entities.filter(code=code).first() if code else entities.first()
    if entity is None:
        raise errors.NotFound("No legal entity exists yet.")
    raw = request.GET.get("period_end") or request.POST.get("period_end")
    today = timezone.localdate()
    try:
        period_end = (
            dt.date.fromisoformat(raw) if raw else today.replace(day=1) - dt.timedelta(days=1)
        )
    except ValueError as exc:
        raise errors.ValidationFailed(
            f"{raw!r} is not a date.", fields={"period_end": "Use the form YYYY-MM-DD."}
        ) from exc
    customer_id = request.GET.get("customer") or request.POST.get("customer") or ""
    customer = (
        get_object_or_404(Customer, pk=customer_id, legal_entity=entity) if customer_id else None
    )
    return {"entities": entities, "entity": entity, "period_end": period_end, "customer": customer,
            "customers": Customer.objects.filter(legal_entity=entity).order_by("name")}  # fmt: skip


@role_required(*FINANCE)
def billing_run(request: HttpRequest) -> HttpResponse:
    """Preview what a run would bill; then create the invoices (as drafts, or issued)."""
    form = _run_form(request)
    if request.method == "POST":
        run = services.billing_run_execute(
            legal_entity=form["entity"], period_end=form["period_end"], customer=form["customer"],
            actor=request.user, issue=request.POST.get("issue") == "1",
        )  # fmt: skip
        messages.success(
            request,
            f"Billing run created {run.invoices_created} invoice(s) for {run.entries_billed} "
            "time entries.",
        )
        status = "issued" if request.POST.get("issue") == "1" else "draft"
        return redirect(f"{reverse('billing:invoice_list')}?status={status}")
    preview = services.billing_run_preview(
        legal_entity=form["entity"], period_end=form["period_end"], customer=form["customer"]
    )
    return render(request, "billing/billing_run.html", {**form, "preview": preview})

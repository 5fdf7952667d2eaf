"""Finance pages of billing: invoices, their detail and actions, and billing runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.files.base import ContentFile
from django.db.models import Q
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from billing import selectors, services
from billing.models import (
    BillingTerms,
    FeeKind,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PeriodAnchor,
    RecurringFee,
    ScheduleBilling,
)
from billing.selectors.payments import invoice_payments
from billing.services import recurring, sources
from billing.services.pdf import invoice_pdf_store, render_invoice_pdf
from crm.models import Customer
from ledger.models import JournalEntry, LegalEntity
from projects.models import Project
from psa.kernel import clock, errors
from psa.kernel.audit import audit_history
from psa.kernel.dates import date_from_text
from psa.kernel.roles import Role, role_required

FINANCE = (Role.FINANCE,)


@role_required(*FINANCE)
def invoice_list(request: HttpRequest) -> HttpResponse:
    today = clock.today()
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
    # The invoice's own entry, and every entry that touched its receivable (payments, fund
    # draw-downs, credit, write-offs): their lines carry the document.

    entries = (
        JournalEntry.objects.filter(legal_entity=invoice.legal_entity)
        .filter(
            Q(source_type=invoice.kind, source_id=str(invoice.pk))
            | Q(lines__document=f"invoice:{invoice.pk}")
        )
        .distinct()
        .order_by("date", "id")
        .prefetch_related("lines__account")
    )
    return render(
        request,
        "billing/invoice_detail.html",
        {
            **selectors.invoice_document(invoice),
            "entries": entries,
            "history": audit_history(invoice)[:50],
            "credit_note": Invoice.objects.filter(credits=invoice).first(),
            "today": clock.today(),
            **invoice_payments(invoice),
            "fund_applied": invoice.fund_applied.select_related("project"),
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
    today = clock.today()
    period_end = date_from_text(
        raw, "period_end", default=today.replace(day=1) - dt.timedelta(days=1)
    )
    customer_id = request.GET.get("customer") or request.POST.get("customer") or ""
    if customer_id and not customer_id.isdigit():
        raise errors.ValidationFailed(
            "customer: not a customer.", fields={"customer": "Choose a customer from the list."}
        )
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
        for failure in run.issue_failures:
            messages.error(
                request,
                f"Not issued, left as a draft: {failure['customer']}: {failure['reason']}",
            )
        status = "issued" if request.POST.get("issue") == "1" else "draft"
        return redirect(f"{reverse('billing:invoice_list')}?status={status}")
    preview = services.billing_run_preview(
        legal_entity=form["entity"], period_end=form["period_end"], customer=form["customer"]
    )
    return render(request, "billing/billing_run.html", {**form, "preview": preview})


# --- project billing set-up: terms, recurring fees, usage -------------------------------------


def _project(pk: int) -> Any:

    return get_object_or_404(Project.objects.select_related("customer", "legal_entity"), pk=pk)


def _project_billing_post(request: HttpRequest, project: Any) -> None:
    """One form of the project billing page: terms, a new recurring fee, or a usage quantity."""
    action = request.POST.get("action")
    if action == "terms":
        recurring.billing_terms_set(
            project=project,
            actor=request.user,
            cap_amount=request.POST.get("cap_amount"),
            milestones_on_planned_date=request.POST.get("milestones_on_planned_date"),
            fund_threshold=request.POST.get("fund_threshold"),
            fund_top_up=request.POST.get("fund_top_up"),
        )
        messages.success(request, "Billing terms saved.")
    elif action == "fee":
        recurring.recurring_fee_create(
            project=project,
            actor=request.user,
            kind=request.POST.get("kind", ""),
            description=request.POST.get("description", ""),
            unit_price=request.POST.get("unit_price", ""),
            quantity=request.POST.get("quantity") or 1,
            period_months=_int(request.POST.get("period_months"), "period_months"),
            period_anchor=request.POST.get("period_anchor") or PeriodAnchor.CALENDAR_MONTH,
            start_date=_date(request.POST.get("start_date"), "start_date"),
            end_date=_date(request.POST.get("end_date"), "end_date", required=False),
            included_hours=request.POST.get("included_hours"),
            overage_rate=request.POST.get("overage_rate"),
        )
        messages.success(request, "Recurring fee added.")
    elif action == "usage":
        fee = get_object_or_404(RecurringFee, pk=request.POST.get("fee"), project=project)
        recurring.usage_quantity_set(
            fee=fee,
            period_start=_date(request.POST.get("period_start"), "period_start"),
            quantity=request.POST.get("quantity", ""),
            actor=request.user,
        )
        messages.success(request, "Quantity set for the period.")
    elif action == "anchor":
        fee = get_object_or_404(RecurringFee, pk=request.POST.get("fee"), project=project)
        recurring.recurring_fee_change(
            fee=fee, actor=request.user, period_anchor=request.POST.get("period_anchor", "")
        )
        messages.success(request, "Period anchor changed.")
    else:
        raise errors.ValidationFailed("Unknown action.", fields={"action": "Unknown."})


def _fees_with_periods(project: Any) -> list[RecurringFee]:
    """The project's recurring fees, each with its last six periods up to two months ahead."""
    fees = list(RecurringFee.objects.filter(project=project).prefetch_related("usage"))
    horizon = clock.today() + dt.timedelta(days=62)
    billed = {
        (b.fee_id, b.period_start, b.part): b.line.invoice
        for b in ScheduleBilling.objects.filter(
            fee__in=fees, released_at__isnull=True
        ).select_related("line__invoice")
    }
    for fee in fees:
        usage = {u.period_start: u.quantity for u in fee.usage.all()}
        fee.periods = [
            {
                "start": start,
                "end": end,
                "quantity": usage.get(start, fee.quantity),
                "set": start in usage,
                "invoice": billed.get((fee.pk, start, "fee")),
            }
            for start, end in sources.fee_periods(fee, starting_through=horizon)
        ][-6:]
        fee.billed_any = any(key[0] == fee.pk for key in billed)
    return fees


@role_required(*FINANCE)
def project_billing(request: HttpRequest, pk: int) -> HttpResponse:
    """How a project bills: its terms (cap, milestones on planned date, prepaid fund), its
    recurring fees with the quantity per period, and what is billed so far."""
    project = _project(pk)
    error = None
    if request.method == "POST":
        try:
            _project_billing_post(request, project)
        except (errors.ValidationFailed, errors.Conflict) as exc:
            error = exc
        else:
            return redirect("billing:project_billing", pk=pk)
    terms = BillingTerms.objects.filter(project=project).first()
    return render(
        request,
        "billing/project_billing.html",
        {
            "project": project,
            "terms": terms,
            "fees": _fees_with_periods(project),
            "fee_kinds": FeeKind.choices,
            "period_anchors": PeriodAnchor.choices,
            "fund": services.fund_available(project_id=project.pk)
            if project.billing_model == "prepaid_fund"
            else None,
            "invoice_lines": project_invoice_lines(project),
            "error": error,
        },
        status=400 if error else 200,
    )


def project_invoice_lines(project: Any) -> list:

    return list(
        InvoiceLine.objects.filter(project=project)
        .select_related("invoice")
        .order_by("-invoice__issue_date", "-invoice_id", "position")[:50]
    )


def _date(raw: str | None, name: str, *, required: bool = True) -> dt.date | None:
    if not raw and required:
        raise errors.ValidationFailed("Pick a date.", fields={name: "Required."})
    return date_from_text(raw, name)


def _int(raw: str | None, name: str) -> int:
    try:
        return int(raw or "")
    except ValueError:
        raise errors.ValidationFailed("Pick a whole number.", fields={name: "A number."}) from None

"""Finance pages of the payment layer: record a payment, refund, write off (on the invoice
page), the payments list, the dunning-level editor, and the retry of a payment attempt."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from billing.models import DunningLevel, DunningLevelFee, PaymentAttempt
from billing.selectors import invoice_get_for_user, invoice_list_visible_to
from billing.selectors.payments import attempts_needing_attention, payment_list_visible_to
from billing.services import collect, dunning, payments, refunds
from ledger.models import LegalEntity
from psa.kernel import errors
from psa.kernel.dates import date_from_text
from psa.kernel.money import money_text, round_money
from psa.kernel.roles import Role, role_required

FINANCE = (Role.FINANCE,)


def _date(raw: str, field: str) -> dt.date | None:
    # A payment received: an operational date (psa.kernel.dates).
    return date_from_text(raw, field, operational=True)


@require_POST
@role_required(*FINANCE)
def payment_new(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = invoice_get_for_user(request.user, pk)
    payment = payments.payment_record(
        invoice=invoice, amount=request.POST.get("amount", ""),
        received_on=_date(request.POST.get("received_on", ""), "received_on"),
        reference=request.POST.get("reference", ""), actor=request.user,
    )  # fmt: skip
    note = f" ({payment.amount - payment.applied} {payment.currency} became credit)"
    messages.success(
        request,
        f"Recorded {money_text(payment.amount, payment.currency)} {payment.currency}."
        + (note if payment.amount > payment.applied else ""),
    )
    return redirect("billing:invoice_detail", pk=pk)


@require_POST
@role_required(*FINANCE)
def invoice_write_off(request: HttpRequest, pk: int) -> HttpResponse:
    invoice = invoice_get_for_user(request.user, pk)
    row = payments.invoice_write_off(
        invoice=invoice, actor=request.user, reason=request.POST.get("reason", "")
    )
    messages.success(
        request, f"Wrote off {money_text(row.amount, invoice.currency)} {invoice.currency}."
    )
    return redirect("billing:invoice_detail", pk=pk)


@require_POST
@role_required(*FINANCE)
def payment_refund(request: HttpRequest, pk: int) -> HttpResponse:
    payment = payment_list_visible_to(request.user).filter(pk=pk).first()
    if payment is None:
        raise errors.NotFound("No such payment.")
    refund = refunds.payment_refund(
        payment=payment, amount=request.POST.get("amount", ""), actor=request.user,
        reason=request.POST.get("reason", ""),
    )  # fmt: skip
    refunded = f"{money_text(refund.amount, payment.currency)} {payment.currency}"
    messages.success(request, f"Refund of {refunded}: {refund.status}.")
    return redirect("billing:invoice_detail", pk=payment.invoice_id)


@role_required(*FINANCE)
def payment_list(request: HttpRequest) -> HttpResponse:
    qs = payment_list_visible_to(request.user).order_by("-received_on", "-id")
    return render(
        request,
        "billing/payment_list.html",
        {"payments": qs[:200], "attempts": attempts_needing_attention(visible_to=request.user)},
    )


@require_POST
@role_required(*FINANCE)
def attempt_retry(request: HttpRequest, pk: int) -> HttpResponse:
    attempt = PaymentAttempt.objects.filter(
        pk=pk, invoice__in=invoice_list_visible_to(request.user)
    ).first()
    if attempt is None:
        raise errors.NotFound("No such payment attempt.")
    attempt = collect.payment_attempt_retry(attempt=attempt, actor=request.user)
    messages.success(request, f"Attempt {attempt.number}: {attempt.get_status_display()}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "billing:payment_list"
    return redirect(target)


@role_required(*FINANCE)
def dunning_levels(request: HttpRequest) -> HttpResponse:
    entities = LegalEntity.objects.order_by("name")
    code = request.GET.get("entity") or request.POST.get("entity") or ""
    entity = entities.filter(code=code).first() if code else entities.first()
    if entity is None:
        raise errors.NotFound("No legal entity exists yet.")
    form_errors: dict = {}
    if request.method == "POST":
        if request.POST.get("defaults") == "1":
            dunning.dunning_levels_default(legal_entity=entity)
            return redirect(f"{request.path}?entity={entity.code}")
        level = None
        if request.POST.get("level"):
            level = DunningLevel.objects.filter(
                pk=request.POST["level"], legal_entity=entity
            ).first()
            if level is None:
                raise errors.NotFound("No such dunning level.")
        try:
            dunning.dunning_level_save(
                legal_entity=entity, actor=request.user, level=level,
                name=request.POST.get("name", ""), days_from_due=request.POST.get("days_from_due"),
                subject=request.POST.get("subject", ""), body=request.POST.get("body", ""),
                late_fee_percent=request.POST.get("late_fee_percent", "0"),
                late_fees=_posted_fees(request),
                is_active=request.POST.get("is_active") == "1",
            )  # fmt: skip
        except errors.ValidationFailed as exc:
            form_errors = exc.fields
        else:
            messages.success(request, "Dunning level saved.")
            return redirect(f"{request.path}?entity={entity.code}")
    levels, new_fees = _level_forms(entity, request, form_errors)
    return render(
        request,
        "billing/dunning_levels.html",
        {
            "entities": entities,
            "entity": entity,
            "levels": levels,
            "new_fees": new_fees,
            "form_errors": form_errors,
            "posted": request.POST if form_errors else None,
        },
        status=400 if form_errors else 200,
    )


def _posted_fees(request: HttpRequest) -> dict[str, str]:
    """The fee rows of a level's form: ``fee_currency`` and ``fee_amount``, pairwise. The blank
    row for a new currency is skipped while its currency is empty."""
    rows = zip(
        request.POST.getlist("fee_currency"), request.POST.getlist("fee_amount"), strict=False
    )
    return {cur.strip().upper(): amount for cur, amount in rows if cur.strip() or amount.strip()}


def _fee_rows(
    fees: list[DunningLevelFee], typed: dict[str, str] | None, form_errors: dict
) -> list[dict[str, str]]:
    """A form's fee rows (currency, amount, error beside it, whether the currency is typed in);
    the form that failed shows what was typed. Always ends with a row to add a currency."""
    if typed is None:
        typed = {f.currency: str(round_money(f.amount, f.currency)) for f in fees}
    known = {f.currency for f in fees}
    rows = [
        {"currency": cur, "amount": amount, "new": cur not in known,
         "error": form_errors.get(f"late_fee_{cur or 'currency'}", "")}
        for cur, amount in typed.items()
    ]  # fmt: skip
    if all(not row["new"] for row in rows):
        rows.append({"currency": "", "amount": "", "new": True, "error": ""})
    return rows


def _level_forms(
    entity: LegalEntity, request: HttpRequest, form_errors: dict
) -> tuple[list[dict], list[dict[str, str]]]:
    """Each level with its fee rows, and the new level's; the form whose save failed keeps what
    was typed."""
    failed = request.POST.get("level", "") if form_errors else None
    forms = []
    for level in DunningLevel.objects.filter(legal_entity=entity).prefetch_related("fees"):
        typed = _posted_fees(request) if failed == str(level.pk) else None
        forms.append(
            {
                "level": level,
                "fees": _fee_rows(
                    list(level.fees.all()), typed, form_errors if typed is not None else {}
                ),
            }
        )
    new_typed = _posted_fees(request) if failed == "" else None
    return forms, _fee_rows([], new_typed, form_errors if failed == "" else {})

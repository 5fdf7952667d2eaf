"""The customer's pay page: no login, reached by the invoice's unguessable token.

It shows only that invoice. Card payments go through a fresh Stripe Checkout Session per
click; the return from Checkout confirms through the same idempotent path as the webhook and
shows "processing" until the payment is confirmed. Rate limited per address, never indexed.
"""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from billing.models import AttemptStatus, Invoice, InvoiceKind, InvoiceStatus
from billing.selectors import invoice_document
from billing.services import checkout, gateway, payments
from billing.services.pdf import invoice_pdf_store
from psa.kernel import clock, errors, ratelimit
from psa.kernel.views import client_ip

WINDOW_SECONDS = 60


def _rate_limited(request: HttpRequest) -> bool:
    # Fails open when the cache is down: the customer can still pay (psa.kernel.ratelimit).
    return ratelimit.hit(
        f"pay-page:ip:{client_ip(request)}", limit=settings.PAY_PAGE_RATE_LIMIT,
        window=WINDOW_SECONDS,
    )  # fmt: skip


def _private(response: HttpResponse) -> HttpResponse:
    # The token is the only key: keep it out of search engines, referrers and shared caches.
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response


def _invoice(request: HttpRequest, token: str) -> Invoice:
    if _rate_limited(request):
        raise errors.DomainError("Too many requests; please wait a minute.", code="rate_limited")
    invoice = (
        Invoice.objects.select_related("legal_entity", "customer")
        .filter(pay_token=token, kind=InvoiceKind.INVOICE)
        .exclude(status=InvoiceStatus.DRAFT)
        .first()
    )
    if invoice is None or len(token) < 22:
        raise Http404("No such invoice.")
    return invoice


def pay_status(invoice: Invoice) -> str:
    """due / overdue / paid / void, as the customer sees it."""
    if invoice.status == InvoiceStatus.VOID:
        return "void"
    if invoice.status == InvoiceStatus.PAID or invoice.nothing_to_pay:
        return "paid"  # a 0.00 invoice is settled at issue
    if invoice.due_date and invoice.due_date < clock.today():
        return "overdue"
    return "due"


def _limited(request: HttpRequest) -> HttpResponse:
    response = render(request, "billing/pay/limited.html", status=429)
    response["Retry-After"] = str(WINDOW_SECONDS)
    return _private(response)


@require_http_methods(["GET", "HEAD"])
def pay_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invoice = _invoice(request, token)
    except errors.DomainError:
        return _limited(request)
    processing = False
    session_id = request.GET.get("session_id", "")
    if session_id:
        processing = _confirm_return(invoice, session_id)
        invoice.refresh_from_db()
    context = {
        **invoice_document(invoice),
        "status": pay_status(invoice),
        "processing": processing and invoice.status != InvoiceStatus.PAID,
        "card_enabled": gateway.stripe_configured()
        and invoice.amount_due > 0
        and pay_status(invoice) in ("due", "overdue"),
        "consent_text": payments.CONSENT_TEXT.format(entity=invoice.legal_entity.name),
        "token": token,
        "session_id": session_id,
        "error": request.GET.get("error", ""),
    }
    template = "billing/pay/page.html"
    if request.htmx:
        template += "#status"
    return _private(render(request, template, context))


def _confirm_return(invoice: Invoice, session_id: str) -> bool:
    """The return from Checkout: confirm through the one path. True while still processing."""
    attempt = invoice.attempts.filter(checkout_session_id=session_id).first()
    if attempt is None:
        return False
    if attempt.status == AttemptStatus.SUCCEEDED:
        return False
    try:
        payments.payment_confirm(attempt=attempt, source="redirect")
    except gateway.GATEWAY_ERRORS:
        return True  # Stripe cannot be asked now: the webhook (or the next poll) settles it
    attempt.refresh_from_db()
    return attempt.status != AttemptStatus.SUCCEEDED


@require_POST
def pay_checkout(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invoice = _invoice(request, token)
    except errors.DomainError:
        return _limited(request)
    pay_url = settings.PUBLIC_BASE_URL + reverse("pay", kwargs={"token": token})
    try:
        url = checkout.checkout_start(
            invoice=invoice, pay_url=pay_url, save_card=request.POST.get("save_card") == "1",
            client_ip=client_ip(request) if client_ip(request) != "unknown" else None,
        )  # fmt: skip
    except errors.DomainError as exc:
        return _private(redirect(f"{reverse('pay', kwargs={'token': token})}?error={exc.code}"))
    return _private(redirect(url))


@require_http_methods(["GET", "HEAD"])
def pay_pdf(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invoice = _invoice(request, token)
    except errors.DomainError:
        return _limited(request)
    if not invoice.pdf or not invoice.pdf.storage.exists(invoice.pdf.name):
        invoice_pdf_store(invoice)
    response = FileResponse(
        invoice.pdf.open("rb"), filename=f"{invoice.number}.pdf", content_type="application/pdf"
    )
    return _private(response)

"""Payments: record, confirm (the one idempotent path), credit, refund, write off.

Every payment is recorded exactly once and booked in the same transaction:

* a card payment belongs to one PaymentAttempt (``Payment.attempt`` is unique) and one Stripe
  payment intent (``Payment.payment_intent_id`` is unique); ``payment_confirm`` re-reads the
  intent from Stripe, then locks the attempt row, so the return redirect and the webhook
  confirming at the same moment serialise and the second finds the first's payment;
* the ledger posting is keyed by (entity, "payment", payment id, event), so it posts once.

Stripe is called outside transactions and locks; what we know before the call (the attempt and
its idempotency key) is committed first.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from billing.models import (
    OPEN,
    AttemptStatus,
    CustomerCredit,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentAttempt,
    PaymentMethod,
    PaymentMethodKind,
    WriteOff,
)
from billing.selectors.payments import credit_balance
from billing.services import gateway
from billing.tasks import render_invoice_pdf
from crm.models import Customer
from ledger import rules
from ledger.selectors import fx_rate_for, fx_rate_required, prepayment_carrying
from ledger.services import journal_post
from psa.kernel import clock, errors
from psa.kernel.audit import audit_record
from psa.kernel.dates import date_require
from psa.kernel.money import MoneyError, from_minor_units, money_text, round_money, to_decimal
from psa.kernel.queue import enqueue_on_commit
from psa.kernel.webhooks import webhooks_emit

log = logging.getLogger(__name__)
ZERO = Decimal(0)
CONSENT_TEXT = (
    "I authorise {entity} to charge this card automatically for future invoices on their due date."
)


# --- helpers ------------------------------------------------------------------------------------


def _settled_status(invoice: Invoice) -> str:
    if invoice.status == InvoiceStatus.VOID:
        return InvoiceStatus.VOID
    if invoice.amount_paid >= invoice.total:
        return InvoiceStatus.PAID
    return InvoiceStatus.PARTIALLY_PAID if invoice.amount_paid > 0 else InvoiceStatus.ISSUED


def _settle(invoice: Invoice, delta: Decimal) -> bool:
    """Add ``delta`` to what is settled on a locked invoice; True if it just became paid."""
    was_paid = invoice.status == InvoiceStatus.PAID
    invoice.amount_paid += delta
    invoice.status = _settled_status(invoice)
    invoice.save(update_fields=["amount_paid", "status", "updated_at"])
    return invoice.status == InvoiceStatus.PAID and not was_paid


def _rate(currency: str, entity: Any, on: dt.date, fallback: Decimal) -> Decimal:
    return fx_rate_for(currency=currency, functional=entity.functional_currency, on=on) or fallback


def _payment_rate(invoice: Invoice, method: str, on: dt.date) -> Decimal:
    if method == PaymentMethodKind.CARD:
        # Money that arrived by card is booked even before the day's rate is entered.
        return _rate(invoice.currency, invoice.legal_entity, on, invoice.fx_rate)
    # Recorded by hand: at the day's rate, never quietly at the invoice's (that would hide the
    # FX difference); a missing rate is a 409 and nothing is written.
    return fx_rate_required(
        currency=invoice.currency, functional=invoice.legal_entity.functional_currency, on=on,
        purpose="the payment cannot be booked",
    )  # fmt: skip


def _paid_event(invoice: Invoice) -> None:

    webhooks_emit(
        event="invoice.paid",
        data={
            "invoice_id": invoice.pk,
            "number": invoice.number,
            "total": money_text(invoice.total, invoice.currency),
            "currency": invoice.currency,
            "customer_id": invoice.customer_id,
        },
    )


def _amount(value: Any, currency: str, field: str) -> Decimal:
    try:
        amount = to_decimal(value)
    except MoneyError as exc:
        raise errors.ValidationFailed(
            f"{value!r} is not an amount.", fields={field: str(exc)}
        ) from exc
    if amount != round_money(amount, currency):
        raise errors.ValidationFailed(
            f"{currency} amounts have at most {len(str(round_money(1, currency))) - 2} decimals.",
            fields={field: "Too many decimals."},
        )
    if amount <= 0:
        raise errors.ValidationFailed(
            "The amount must be positive.", fields={field: "Must be > 0."}
        )
    return amount


# --- recording ----------------------------------------------------------------------------------


def payment_record(
    *,
    invoice: Invoice,
    amount: Decimal | str,
    received_on: dt.date | None = None,
    method: str = PaymentMethodKind.BANK_TRANSFER,
    reference: str = "",
    fee: Decimal = ZERO,
    attempt: PaymentAttempt | None = None,
    payment_intent_id: str | None = None,
    actor: Any = None,
    actor_label: str = "",
) -> Payment:
    """Record money received for an invoice and book it. A partial payment leaves the invoice
    partially paid; whatever exceeds the amount due becomes the customer's credit."""
    received_on = received_on or clock.today()
    # A typo in the year (0001, 9999) must not reach the books.
    date_require(received_on, "received_on", operational=True)
    if method not in PaymentMethodKind.values:
        raise errors.ValidationFailed("Unknown payment method.", fields={"method": "Unknown."})
    with transaction.atomic():
        locked = (
            Invoice.objects.select_for_update()
            .select_related("legal_entity", "customer")
            .get(pk=invoice.pk)
        )
        amount = _amount(amount, locked.currency, "amount")
        if locked.kind != InvoiceKind.INVOICE:
            raise errors.Conflict("Payments are recorded against invoices, not credit notes.")
        # Money that really arrived by card is always recorded (all of it as credit if the
        # invoice is settled or void); by hand, only open invoices take payments.
        if method != PaymentMethodKind.CARD and locked.status not in OPEN:
            raise errors.Conflict(
                f"A {locked.get_status_display().lower()} invoice takes no payments.",
                code="illegal_transition",
            )
        entity = locked.legal_entity
        due = max(locked.amount_due, ZERO) if locked.status in OPEN else ZERO
        applied = min(amount, due)
        rate = _payment_rate(locked, method, received_on)
        payment = Payment.objects.create(
            legal_entity=entity, customer=locked.customer, invoice=locked, method=method,
            amount=amount, applied=applied, fee=fee, currency=locked.currency, fx_rate=rate,
            received_on=received_on, reference=reference[:200], attempt=attempt,
            payment_intent_id=payment_intent_id,
            recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
        )  # fmt: skip
        if amount > applied:
            CustomerCredit.objects.create(
                customer=locked.customer, currency=locked.currency, amount=amount - applied,
                payment=payment,
            )  # fmt: skip
        became_paid = _settle(locked, applied) if applied else False
        journal_post(
            legal_entity=entity,
            event=rules.PaymentReceived(
                currency=locked.currency, fx_rate=rate, customer_id=locked.customer_id,
                project_id=locked.project_id, document=f"invoice:{locked.pk}",
                description=f"Payment for {locked.number}", amount=amount, fee=fee,
                via="stripe" if method == PaymentMethodKind.CARD else "bank",
                applied=applied, receivable_rate=locked.fx_rate,
            ),
            date=received_on, source_type="payment", source_id=payment.pk, actor=actor,
            actor_label=actor_label,
        )  # fmt: skip
        audit_record(
            action="payment.recorded", obj=locked, actor=actor, actor_label=actor_label,
            after={"payment": payment.pk, "amount": amount, "applied": applied,
                   "credit": amount - applied, "method": method, "reference": reference},
        )  # fmt: skip
        if became_paid:
            _paid_event(locked)
    return payment


def credit_apply(*, invoice: Invoice, actor: Any = None, actor_label: str = "") -> Decimal:
    """Settle what ``invoice`` owes from the customer's credit in its currency, as far as it
    goes. Returns the amount applied (0: nothing to do)."""
    with transaction.atomic():
        # The customer row serialises every use of their credit: two invoices cannot spend
        # the same balance.
        Customer.objects.select_for_update().get(pk=invoice.customer_id)
        locked = (
            Invoice.objects.select_for_update().select_related("legal_entity").get(pk=invoice.pk)
        )
        if locked.status not in OPEN or locked.kind != InvoiceKind.INVOICE:
            return ZERO
        available = credit_balance(customer=locked.customer, currency=locked.currency)
        amount = min(available, locked.amount_due)
        if amount <= 0:
            return ZERO
        use = CustomerCredit.objects.create(
            customer_id=locked.customer_id, currency=locked.currency, amount=-amount,
            invoice=locked,
        )  # fmt: skip
        became_paid = _settle(locked, amount)
        today = clock.today()
        journal_post(
            legal_entity=locked.legal_entity,
            event=rules.CustomerCreditApplied(
                currency=locked.currency, fx_rate=locked.fx_rate, customer_id=locked.customer_id,
                document=f"invoice:{locked.pk}", description=f"Credit applied to {locked.number}",
                amount=amount, carrying=prepayment_carrying(
                    legal_entity=locked.legal_entity, customer_id=locked.customer_id,
                    currency=locked.currency, amount=amount,
                ),
            ),
            date=today, source_type="credit_use", source_id=use.pk, actor=actor,
            actor_label=actor_label,
        )  # fmt: skip
        audit_record(
            action="credit.applied", obj=locked, actor=actor, actor_label=actor_label,
            after={"amount": amount},
        )  # fmt: skip
        if became_paid:
            _paid_event(locked)
    return amount


def invoice_write_off(
    *, invoice: Invoice, actor: Any, reason: str, today: dt.date | None = None
) -> WriteOff:
    """Give up on what an invoice still owes: bad debt, and the invoice is settled."""
    today = today or clock.today()
    if not reason.strip():
        raise errors.ValidationFailed("Say why it is written off.", fields={"reason": "Required."})
    with transaction.atomic():
        locked = (
            Invoice.objects.select_for_update().select_related("legal_entity").get(pk=invoice.pk)
        )
        if locked.status not in OPEN or locked.amount_due <= 0:
            raise errors.Conflict("Only an open invoice with an amount due can be written off.")
        amount = locked.amount_due
        row = WriteOff.objects.create(
            invoice=locked, amount=amount, reason=reason[:300],
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )  # fmt: skip
        _settle(locked, amount)
        journal_post(
            legal_entity=locked.legal_entity,
            event=rules.WrittenOff(
                currency=locked.currency, fx_rate=locked.fx_rate, customer_id=locked.customer_id,
                document=f"invoice:{locked.pk}", description=f"Write-off of {locked.number}",
                amount=amount,
            ),
            date=today, source_type="write_off", source_id=row.pk, actor=actor,
        )  # fmt: skip
        audit_record(
            action="invoice.written_off", obj=locked, actor=actor, reason=reason,
            after={"amount": amount},
        )  # fmt: skip
        # The stored PDF says "Written off" from now on, not "Amount due".
        enqueue_on_commit(render_invoice_pdf, locked.pk)
    return row


# --- the one confirm path -------------------------------------------------------------------------

_FINAL = (AttemptStatus.SUCCEEDED,)
_PI_STATUS = {
    "processing": AttemptStatus.PROCESSING,
    "requires_action": AttemptStatus.REQUIRES_ACTION,
    "requires_confirmation": AttemptStatus.PROCESSING,
    "requires_capture": AttemptStatus.PROCESSING,
    "requires_payment_method": AttemptStatus.FAILED,
    "canceled": AttemptStatus.CANCELED,
}


def _fee(pi: dict, currency: str) -> Decimal:
    """Stripe's fee from the charge's balance transaction, in the payment's currency."""
    charge = pi.get("latest_charge")
    bt = charge.get("balance_transaction") if isinstance(charge, dict) else None
    if not isinstance(bt, dict) or not bt.get("fee"):
        return ZERO
    fee = from_minor_units(int(bt["fee"]), bt["currency"].upper())
    if bt["currency"].upper() != currency:
        # Settled in another currency: convert back at the charge's own exchange rate.
        rate = Decimal(str(bt.get("exchange_rate") or 1))
        fee = round_money(fee / rate, currency)
    return fee


def attempt_for_intent(pi: dict) -> PaymentAttempt | None:
    attempt = PaymentAttempt.objects.filter(payment_intent_id=pi["id"]).first()
    if attempt is None:
        attempt_id = (pi.get("metadata") or {}).get("attempt")
        if attempt_id and str(attempt_id).isdigit():
            attempt = PaymentAttempt.objects.filter(pk=int(attempt_id)).first()
    return attempt


def payment_confirm(
    *, attempt: PaymentAttempt, payment_intent_id: str | None = None, source: str
) -> Payment | None:
    """Bring an attempt in line with what Stripe says, recording the payment if it succeeded.

    Called by the return redirect, every webhook about the attempt, the reconciliation sweep
    and the retry button alike. Safe to call any number of times, concurrently: the attempt row
    lock serialises callers and the second finds the first's payment."""
    pi_id = payment_intent_id or attempt.payment_intent_id
    if not pi_id and attempt.checkout_session_id:
        session = gateway.checkout_session_retrieve(attempt.checkout_session_id)
        pi_id = session.get("payment_intent")
        if not pi_id and session.get("status") == "expired":
            # Never paid and no longer payable: the attempt is over.
            PaymentAttempt.objects.filter(pk=attempt.pk, status=AttemptStatus.CREATED).update(
                status=AttemptStatus.CANCELED, error_code="expired", updated_at=timezone.now()
            )
    if not pi_id:
        return None
    pi = gateway.payment_intent_retrieve(pi_id)  # re-read: events are only triggers
    return _apply_intent(attempt_id=attempt.pk, pi=pi, source=source)


def _apply_intent(*, attempt_id: int, pi: dict, source: str) -> Payment | None:
    invoice_id = PaymentAttempt.objects.values_list("invoice_id", flat=True).get(pk=attempt_id)
    with transaction.atomic():
        # Invoice first, then attempt: the same order as checkout_start and collect, so a
        # confirmation and a new click never deadlock.
        Invoice.objects.select_for_update().filter(pk=invoice_id).first()
        attempt = PaymentAttempt.objects.select_for_update().get(pk=attempt_id)
        existing = (
            Payment.objects.filter(attempt=attempt).first()
            or Payment.objects.filter(payment_intent_id=pi["id"]).first()
        )
        if existing:
            return existing
        if pi["status"] == "succeeded":
            currency = pi["currency"].upper()
            amount = from_minor_units(int(pi.get("amount_received") or pi["amount"]), currency)
            attempt.status = AttemptStatus.SUCCEEDED
            attempt.payment_intent_id = pi["id"]
            attempt.next_retry_at = None
            attempt.save(update_fields=["status", "payment_intent_id", "next_retry_at",
                                        "updated_at"])  # fmt: skip
            payment = payment_record(
                invoice=attempt.invoice, amount=amount, method=PaymentMethodKind.CARD,
                fee=_fee(pi, currency), attempt=attempt, payment_intent_id=pi["id"],
                reference=pi["id"], actor_label=f"stripe:{source}",
            )  # fmt: skip
            if attempt.save_card and pi.get("payment_method"):
                _method_save(
                    customer_id=attempt.invoice.customer_id,
                    pm_id=pi["payment_method"] if isinstance(pi["payment_method"], str)
                    else pi["payment_method"]["id"],
                    consent_ip=attempt.consent_ip,
                )  # fmt: skip
            return payment
        new = _PI_STATUS.get(pi["status"])
        if new is None or attempt.status in _FINAL:
            return None  # never move a final state backwards
        if new in (AttemptStatus.FAILED, AttemptStatus.CANCELED) or attempt.status in (
            AttemptStatus.CREATED, AttemptStatus.PROCESSING, AttemptStatus.REQUIRES_ACTION,
        ):  # fmt: skip
            error = pi.get("last_payment_error") or {}
            attempt.status = new
            attempt.payment_intent_id = pi["id"]
            if error:
                attempt.error_code = (error.get("decline_code") or error.get("code") or "")[:60]
                attempt.error_message = (error.get("message") or "")[:500]
            attempt.save(update_fields=["status", "payment_intent_id", "error_code",
                                        "error_message", "updated_at"])  # fmt: skip
    return None


def _method_save(*, customer_id: int, pm_id: str, consent_ip: str | None) -> PaymentMethod:
    """Keep the card the customer agreed to be charged with automatically (after commit of
    the payment; a failure to read card details only loses the brand and last four)."""

    customer = Customer.objects.select_related("legal_entity").get(pk=customer_id)
    method, created = PaymentMethod.objects.get_or_create(
        stripe_payment_method_id=pm_id,
        defaults={
            "customer": customer,
            "autopay_consent_at": timezone.now(),
            "consent_text": CONSENT_TEXT.format(entity=customer.legal_entity.name)[:300],
            "consent_ip": consent_ip,
        },
    )
    if created:
        transaction.on_commit(lambda: _method_details(method.pk))
        audit_record(
            action="payment_method.saved", obj=customer, actor_label="customer",
            after={"payment_method": method.pk, "autopay": True, "ip": consent_ip},
        )  # fmt: skip
    return method


def _method_details(method_pk: int) -> None:
    method = PaymentMethod.objects.get(pk=method_pk)
    try:
        pm = gateway.payment_method_retrieve(method.stripe_payment_method_id)
    except gateway.GATEWAY_ERRORS:
        log.info("could not read payment method %s", method.stripe_payment_method_id)
        return
    card = pm.get("card") or {}
    PaymentMethod.objects.filter(pk=method_pk).update(
        brand=(card.get("brand") or "")[:20], last4=(card.get("last4") or "")[:4],
        exp_month=card.get("exp_month"), exp_year=card.get("exp_year"),
    )  # fmt: skip

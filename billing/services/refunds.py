"""Money moving back or on: refunds (ours and the Stripe dashboard's), disputes, payouts.

Each is keyed by its Stripe id (unique) and booked once through the ledger's idempotent
posting; final states never move backwards, so webhooks may repeat or arrive out of order.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Sum

from billing.models import (
    CustomerCredit,
    Dispute,
    Invoice,
    Payment,
    PaymentMethodKind,
    Payout,
    Refund,
    RefundStatus,
)
from billing.selectors.payments import credit_balance
from billing.services import gateway
from billing.services.payments import ZERO, _amount, _rate, _settle
from crm.models import Customer
from ledger import rules
from ledger.models import LegalEntity
from ledger.services import journal_post
from psa.kernel import clock, errors
from psa.kernel.audit import audit_record
from psa.kernel.money import from_minor_units, to_minor_units

log = logging.getLogger(__name__)


# --- refunds ------------------------------------------------------------------------------------


def payment_refund(
    *, payment: Payment, amount: Decimal | str, actor: Any, reason: str = ""
) -> Refund:
    """Return money to the customer: through Stripe for card payments, by bank otherwise.

    The refund row (with its idempotency key) is committed before Stripe is called; it is
    booked when Stripe says it succeeded (now or by webhook)."""
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        amount = _amount(amount, locked.currency, "amount")
        pending = locked.refunds.filter(status=RefundStatus.PENDING).aggregate(s=Sum("amount"))
        refundable = locked.amount - locked.refunded - (pending["s"] or ZERO)
        if amount > refundable:
            raise errors.ValidationFailed(
                f"At most {refundable} {locked.currency} can be refunded.",
                fields={"amount": f"Must be ≤ {refundable}."},
            )
        number = (locked.refunds.aggregate(n=Max("number"))["n"] or 0) + 1
        via = "stripe" if locked.method == PaymentMethodKind.CARD else "bank"
        refund = Refund.objects.create(
            payment=locked, number=number, amount=amount, via=via, reason=reason[:300],
            idempotency_key=f"psa-pay{locked.pk}-ref{number}",
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )  # fmt: skip
        audit_record(action="refund.requested", obj=locked.invoice, actor=actor, reason=reason,
                     after={"refund": refund.pk, "amount": amount, "via": via})  # fmt: skip
        if via == "bank":
            refund_book(refund=refund, status=RefundStatus.SUCCEEDED)
            refund.refresh_from_db()
            return refund

    try:
        result = gateway.refund_create(
            params={
                "payment_intent": locked.payment_intent_id,
                "amount": to_minor_units(amount, locked.currency),
                "metadata": {"refund": str(refund.pk), "payment": str(locked.pk)},
            },
            idempotency_key=refund.idempotency_key,
        )
    except gateway.GATEWAY_ERRORS as exc:
        # Left pending: the retry re-sends the same key, the webhook may still settle it.
        log.warning("refund %s failed at Stripe: %s", refund.pk, exc)
        raise errors.Conflict(
            "Stripe did not accept the refund now; it stays pending and can be retried.",
            code="stripe_unavailable",
        ) from exc
    refund_sync(refund_obj=result)
    refund.refresh_from_db()
    return refund


def refund_sync(*, refund_obj: dict) -> Refund | None:
    """Apply a Stripe refund object: ours (by id or metadata) or one made in the dashboard."""
    status = {"succeeded": RefundStatus.SUCCEEDED, "failed": RefundStatus.FAILED,
              "canceled": RefundStatus.CANCELED}.get(refund_obj.get("status"))  # fmt: skip
    refund = Refund.objects.filter(stripe_refund_id=refund_obj["id"]).first()
    meta_id = (refund_obj.get("metadata") or {}).get("refund")
    if refund is None and meta_id and str(meta_id).isdigit():
        refund = Refund.objects.filter(pk=int(meta_id)).first()
    if refund is None:
        payment = Payment.objects.filter(payment_intent_id=refund_obj.get("payment_intent")).first()
        if payment is None:
            return None
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(pk=payment.pk)
            refund = Refund.objects.filter(stripe_refund_id=refund_obj["id"]).first()
            if refund is None:
                number = (locked.refunds.aggregate(n=Max("number"))["n"] or 0) + 1
                refund = Refund.objects.create(
                    payment=locked, number=number, external=True, via="stripe",
                    amount=from_minor_units(int(refund_obj["amount"]), locked.currency),
                    idempotency_key=f"ext-{refund_obj['id']}",
                    stripe_refund_id=refund_obj["id"], reason="Refunded in Stripe",
                )  # fmt: skip
    Refund.objects.filter(pk=refund.pk, stripe_refund_id__isnull=True).update(
        stripe_refund_id=refund_obj["id"]
    )
    if status is not None:
        refund_book(refund=refund, status=status)
    refund.refresh_from_db()
    return refund


def refund_book(*, refund: Refund, status: str) -> Refund:
    """Move a pending refund to its final state. A succeeded refund first returns what the
    payment left as (unspent) credit, then reopens the invoice for the rest; it is booked."""
    with transaction.atomic():
        locked = Refund.objects.select_for_update().get(pk=refund.pk)
        if locked.status != RefundStatus.PENDING:
            return locked  # final states never move
        locked.status = status
        locked.save(update_fields=["status"])
        if status != RefundStatus.SUCCEEDED:
            return locked
        payment = Payment.objects.select_for_update().get(pk=locked.payment_id)
        # Credit is the customer's: lock it as credit_apply does (customer, then invoice).
        customer = Customer.objects.select_for_update().get(pk=payment.customer_id)
        invoice = (
            Invoice.objects.select_for_update()
            .select_related("legal_entity")
            .get(pk=payment.invoice_id)
        )
        # An overpayment's credit is returned first (if still unspent); only the rest reopens
        # the invoice.
        credit_refunded = -(
            payment.credits.filter(amount__lt=0).aggregate(s=Sum("amount"))["s"] or ZERO
        )
        credit_room = min(
            payment.amount - payment.applied - credit_refunded,
            credit_balance(customer=customer, currency=payment.currency),
        )
        from_credit = max(min(locked.amount, credit_room), ZERO)
        reopen = locked.amount - from_credit
        payment.refunded += locked.amount
        payment.save(update_fields=["refunded"])
        if reopen:
            _settle(invoice, -reopen)
        if from_credit:
            CustomerCredit.objects.create(
                customer_id=payment.customer_id, currency=payment.currency, amount=-from_credit,
                payment=payment,
            )  # fmt: skip
        today = clock.today()
        # The cash leaves at today's rate; the receivable (the invoice's rate) or the credit
        # (the payment's) comes back at the rate it was booked at: the rule books the FX.
        cash_rate = _rate(payment.currency, invoice.legal_entity, today, invoice.fx_rate)
        for part, credit, event_name in (
            (reopen, False, "refund.paid"),
            (from_credit, True, "refund.paid.credit"),
        ):
            if part:
                journal_post(
                    legal_entity=invoice.legal_entity,
                    event=rules.RefundPaid(
                        currency=payment.currency, fx_rate=cash_rate,
                        carrying_rate=payment.fx_rate if credit else invoice.fx_rate,
                        customer_id=payment.customer_id, document=f"invoice:{invoice.pk}",
                        description=f"Refund for {invoice.number}", amount=part, via=locked.via,
                        from_credit=credit,
                    ),
                    date=today, source_type="refund", source_id=locked.pk,
                    event_name=event_name, actor_label="refund",
                )  # fmt: skip
        audit_record(action="refund.succeeded", obj=invoice, actor_label="refund",
                     after={"refund": locked.pk, "amount": locked.amount})  # fmt: skip
    return locked


# --- disputes and payouts -------------------------------------------------------------------------


def dispute_sync(*, dispute_obj: dict) -> Dispute | None:
    """Record a dispute and book its money movements: opened (amount and fee leave the Stripe
    balance) and, if won, the amount's return. Each posting happens once."""
    payment = Payment.objects.filter(payment_intent_id=dispute_obj.get("payment_intent")).first()
    if payment is None:
        return None
    currency = payment.currency
    amount = from_minor_units(int(dispute_obj["amount"]), currency)
    fee = ZERO
    for bt in dispute_obj.get("balance_transactions") or []:
        if isinstance(bt, dict) and bt.get("fee") and bt.get("currency", "").upper() == currency:
            fee += from_minor_units(int(bt["fee"]), currency)
    with transaction.atomic():
        dispute, created = Dispute.objects.select_for_update().get_or_create(
            stripe_dispute_id=dispute_obj["id"],
            defaults={"payment": payment, "amount": amount, "fee": fee,
                      "status": dispute_obj["status"], "reason": dispute_obj.get("reason") or ""},
        )  # fmt: skip
        if not created and dispute.status in ("won", "lost"):
            return dispute  # closed: final
        was_lost = not created and dispute.status == "lost"
        dispute.status = dispute_obj["status"]
        dispute.fee = max(dispute.fee, fee)
        dispute.save(update_fields=["status", "fee", "updated_at"])
        invoice = payment.invoice
        common = {
            "currency": currency, "fx_rate": payment.fx_rate, "customer_id": payment.customer_id,
            "document": f"invoice:{invoice.pk}", "description": f"Dispute on {invoice.number}",
        }  # fmt: skip
        today = clock.today()
        journal_post(
            legal_entity=payment.legal_entity,
            event=rules.DisputeOpened(amount=amount, fee=dispute.fee, **common),
            date=today, source_type="dispute", source_id=dispute.pk, actor_label="stripe",
        )  # fmt: skip
        if dispute.status == "won":
            journal_post(
                legal_entity=payment.legal_entity,
                event=rules.DisputeWon(amount=amount, **common),
                date=today, source_type="dispute", source_id=dispute.pk, actor_label="stripe",
            )  # fmt: skip
        if dispute.status == "lost" and not was_lost:
            _dispute_lost(dispute, payment, common, today)
        if created:
            audit_record(
                action="payment.disputed", obj=invoice, actor_label="stripe",
                after={"dispute": dispute.stripe_dispute_id, "amount": amount},
            )  # fmt: skip
    return dispute


def _dispute_lost(dispute: Dispute, payment: Payment, common: dict, today: dt.date) -> None:
    """A lost dispute reopens the amount on the invoice (issued or part paid again, so dunning
    and collection act on it) and moves the chargeback loss back to the receivable. Runs once:
    the caller holds the dispute's row lock and only on its move to "lost"."""
    invoice = Invoice.objects.select_for_update().get(pk=payment.invoice_id)
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    # The bank took the money back: it can no longer be refunded either.
    locked.refunded = min(locked.amount, locked.refunded + dispute.amount)
    locked.save(update_fields=["refunded"])
    _settle(invoice, -dispute.amount)
    journal_post(
        legal_entity=payment.legal_entity,
        event=rules.DisputeLost(
            amount=dispute.amount, receivable_rate=invoice.fx_rate, **common
        ),
        date=today, source_type="dispute", source_id=dispute.pk, actor_label="stripe",
    )  # fmt: skip
    audit_record(
        action="payment.dispute_lost", obj=invoice, actor_label="stripe",
        after={"dispute": dispute.stripe_dispute_id, "amount_due": invoice.amount_due},
    )  # fmt: skip


def payout_entity() -> Any:
    """The legal entity whose Stripe account this is (STRIPE_LEGAL_ENTITY, else the only one)."""

    code = getattr(settings, "STRIPE_LEGAL_ENTITY", "")
    if code:
        return LegalEntity.objects.filter(code=code).first()
    entities = list(LegalEntity.objects.all()[:2])
    return entities[0] if len(entities) == 1 else None


def payout_sync(*, payout_obj: dict) -> Payout | None:
    """A payout that reached the bank moves money from Stripe clearing to the bank, once."""
    entity = payout_entity()
    if entity is None:
        raise errors.ValidationFailed(
            "Set STRIPE_LEGAL_ENTITY: several legal entities exist.",
            fields={"STRIPE_LEGAL_ENTITY": "Required."},
        )
    currency = payout_obj["currency"].upper()
    amount = from_minor_units(int(payout_obj["amount"]), currency)
    arrival = payout_obj.get("arrival_date")
    with transaction.atomic():
        payout, _ = Payout.objects.select_for_update().get_or_create(
            stripe_payout_id=payout_obj["id"],
            defaults={"legal_entity": entity, "amount": amount, "currency": currency,
                      "status": payout_obj["status"],
                      "arrival_date": dt.datetime.fromtimestamp(arrival, dt.UTC).date()
                      if arrival else None},
        )  # fmt: skip
        if payout.status != "paid":
            Payout.objects.filter(pk=payout.pk).update(status=payout_obj["status"])
        if payout_obj["status"] == "paid":
            on = payout.arrival_date or clock.today()
            journal_post(
                legal_entity=entity,
                event=rules.PayoutPaid(
                    currency=currency, fx_rate=_rate(currency, entity, on, Decimal(1)),
                    description=f"Stripe payout {payout.stripe_payout_id}", amount=amount,
                ),
                date=on, source_type="payout", source_id=payout.pk, actor_label="stripe",
            )  # fmt: skip
    return payout

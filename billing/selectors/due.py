"""What the scheduled sweeps (psa.automation.sweeps) find due: invoices to charge by autopay,
attempts stuck in flight, invoices to remind, Stripe events still to process. Reads only; each
item is then claimed by its service."""

from __future__ import annotations

import datetime as dt

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from billing.models import (
    IN_FLIGHT,
    OPEN,
    AttemptKind,
    AttemptStatus,
    DunningLevel,
    DunningReminder,
    Invoice,
    InvoiceKind,
    PaymentAttempt,
    PaymentMethod,
    StripeEvent,
)

STUCK_AFTER = dt.timedelta(minutes=30)
CHECKOUT_LIFETIME = dt.timedelta(hours=25)


def _end_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.max))


def autopay_candidates(*, today: dt.date) -> list[tuple[Invoice, bool]]:
    """Open invoices due by ``today`` whose customer consented to autopay and that have no
    attempt in flight, each with whether a charge is due now (first try, or a planned retry
    that has come due; False when stopped or waiting for the customer)."""
    consented = PaymentMethod.objects.filter(
        customer=OuterRef("customer_id"), is_active=True, autopay_consent_at__isnull=False
    )
    in_flight = PaymentAttempt.objects.filter(invoice=OuterRef("pk"), status__in=IN_FLIGHT)
    candidates = (
        # total > 0: a 0.00 invoice is settled at issue and never charged (nor one issued
        # before that rule, still marked issued).
        Invoice.objects.filter(
            kind=InvoiceKind.INVOICE, status__in=OPEN, due_date__lte=today, total__gt=0
        )
        .filter(Exists(consented))
        .exclude(Exists(in_flight))
        .order_by("due_date", "pk")
    )
    last_attempts = _last_off_session(list(candidates.values_list("pk", flat=True)))
    cutoff = _end_of(today)
    out = []
    for invoice in candidates.select_related("customer"):
        last = last_attempts.get(invoice.pk)
        waiting = last is not None and (last.next_retry_at is None or last.next_retry_at > cutoff)
        out.append((invoice, not waiting))
    return out


def _last_off_session(invoice_ids: list[int]) -> dict[int, PaymentAttempt]:
    out: dict[int, PaymentAttempt] = {}
    for attempt in PaymentAttempt.objects.filter(
        invoice_id__in=invoice_ids, kind=AttemptKind.OFF_SESSION
    ).order_by("invoice_id", "-number"):
        out.setdefault(attempt.invoice_id, attempt)
    return out


def attempts_stuck(*, now: dt.datetime) -> QuerySet[PaymentAttempt]:
    """Attempts stuck in flight (lost webhook, unknown outcome) that a re-check can settle."""
    stuck = PaymentAttempt.objects.filter(
        status__in=IN_FLIGHT, updated_at__lt=now - STUCK_AFTER
    ).exclude(
        # An open Checkout page is not stuck: the customer may pay until it expires (24 h).
        kind=AttemptKind.CHECKOUT, status=AttemptStatus.CREATED,
        created_at__gt=now - CHECKOUT_LIFETIME,
    )  # fmt: skip
    return stuck.exclude(kind=AttemptKind.CHECKOUT, checkout_session_id__isnull=True)


def _level_reached(levels: list[DunningLevel], due: dt.date, today: dt.date) -> DunningLevel | None:
    reached = [lv for lv in levels if due + dt.timedelta(days=lv.days_from_due) <= today]
    return reached[-1] if reached else None


def dunning_due(*, today: dt.date) -> list[tuple[Invoice, DunningLevel | None]]:
    """Open invoices of entities with dunning levels that may have reached one, each with the
    highest level reached and not yet sent (None: nothing to send now)."""
    levels_by_entity: dict[int, list[DunningLevel]] = {}
    for level in DunningLevel.objects.filter(is_active=True).order_by("days_from_due"):
        levels_by_entity.setdefault(level.legal_entity_id, []).append(level)
    if not levels_by_entity:
        return []
    earliest = min(lv[0].days_from_due for lv in levels_by_entity.values())
    sent = set(DunningReminder.objects.filter(
        invoice__status__in=OPEN).values_list("invoice_id", "level_id"))  # fmt: skip
    invoices = Invoice.objects.filter(
        kind=InvoiceKind.INVOICE, status__in=OPEN, total__gt=0,  # 0.00: nothing to dun
        legal_entity_id__in=list(levels_by_entity),
        due_date__lte=today - dt.timedelta(days=earliest),
    ).order_by("due_date", "pk")  # fmt: skip
    out: list[tuple[Invoice, DunningLevel | None]] = []
    for invoice in invoices:
        level = _level_reached(levels_by_entity[invoice.legal_entity_id], invoice.due_date, today)
        out.append((invoice, None if level is None or (invoice.pk, level.pk) in sent else level))
    return out


def stripe_events_pending(*, limit: int = 200) -> list[str]:
    """Ids of stored events not processed yet (a worker died, Stripe was down), oldest first."""
    return list(
        StripeEvent.objects.filter(processed_at__isnull=True)
        .order_by("received_at")
        .values_list("pk", flat=True)[:limit]
    )

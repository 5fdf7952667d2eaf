"""Recurring fees (retainers and subscriptions), their usage quantities, billing terms, and
the daily recognition of fees billed in advance.

Recognition (DOMAIN.md): a fee invoiced in advance is deferred revenue; each day the job moves
the slice earned so far to recurring revenue, pro rata by days, the last day taking whatever
rounding left (``ledger.rules.recognised_to_date``). A line is recognised at most once per day
(unique (line, date)) and its row is locked while it is, so two workers, or a job run twice,
post each slice once.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import DecimalField, F, Max, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from billing.models import (
    BillingTerms,
    FeeKind,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    PeriodAnchor,
    Recognition,
    RecurringFee,
    ScheduleBilling,
    UsageQuantity,
)
from billing.services.periods import fee_periods
from ledger import rules
from ledger.services import journal_post
from projects.models import BillingModel, DeferralRule
from psa.kernel import errors
from psa.kernel.audit import audit_record
from psa.kernel.etag import etag_require
from psa.kernel.updates import model_update
from psa.kernel.validators import decimal_input, money_places_check

ZERO = Decimal(0)


def _decimal(value: object, name: str, *, minimum: Decimal = ZERO) -> Decimal:
    amount = decimal_input(value, name)
    if amount < minimum:
        raise errors.ValidationFailed(
            f"{name.replace('_', ' ').capitalize()} must be at least {minimum}.",
            fields={name: f"At least {minimum}."},
        )
    return amount


def _optional(value: object, name: str, *, minimum: Decimal = ZERO) -> Decimal | None:
    if value is None or str(value).strip() == "":
        return None
    return _decimal(value, name, minimum=minimum)


def billing_terms_set(*, project: Any, actor: Any, **values: Any) -> BillingTerms:
    """Set a project's billing terms (cap, milestones on planned date, fund threshold and
    top-up). Blank clears a figure."""

    cap = _optional(values.get("cap_amount"), "cap_amount")
    threshold = _optional(values.get("fund_threshold"), "fund_threshold")
    top_up = _optional(values.get("fund_top_up"), "fund_top_up", minimum=Decimal("0.01"))
    for name, figure in (
        ("cap_amount", cap),
        ("fund_threshold", threshold),
        ("fund_top_up", top_up),
    ):
        if figure is not None:  # in the project's currency: 10.5 JPY is not an amount
            money_places_check(figure, project.currency, name)
    if project.billing_model == BillingModel.PREPAID_FUND and (threshold is None) != (
        top_up is None
    ):
        raise errors.ValidationFailed(
            "A prepaid fund needs both a threshold and a top-up amount, or neither.",
            fields={"fund_top_up": "Set both or neither.", "fund_threshold": "Set both."},
        )
    with transaction.atomic():
        terms, _ = BillingTerms.objects.select_for_update().get_or_create(project=project)
        before = {
            "cap_amount": terms.cap_amount,
            "milestones_on_planned_date": terms.milestones_on_planned_date,
            "fund_threshold": terms.fund_threshold,
            "fund_top_up": terms.fund_top_up,
        }
        terms.cap_amount = cap
        terms.milestones_on_planned_date = bool(values.get("milestones_on_planned_date"))
        terms.fund_threshold = threshold
        terms.fund_top_up = top_up
        terms.save()
        audit_record(
            action="billing_terms.changed",
            obj=project,
            actor=actor,
            before=before,
            after={k: getattr(terms, k) for k in before},
        )
    return terms


def recurring_fee_create(
    *,
    project: Any,
    kind: str,
    description: str,
    unit_price: object,
    start_date: dt.date,
    actor: Any,
    quantity: object = 1,
    period_months: int = 1,
    end_date: dt.date | None = None,
    included_hours: object = None,
    overage_rate: object = None,
    service_item: Any = None,
    period_anchor: str = PeriodAnchor.CALENDAR_MONTH,
) -> RecurringFee:
    _anchor_check(period_anchor)
    if kind not in FeeKind.values:
        raise errors.ValidationFailed(
            "Unknown fee kind.", fields={"kind": "Retainer or subscription."}
        )
    if not description.strip():
        raise errors.ValidationFailed("Describe the fee.", fields={"description": "Required."})
    if period_months not in (1, 3, 6, 12):
        raise errors.ValidationFailed(
            "A period is 1, 3, 6 or 12 months.", fields={"period_months": "1, 3, 6 or 12."}
        )
    if end_date and end_date < start_date:
        raise errors.ValidationFailed(
            "The fee cannot end before it starts.", fields={"end_date": "Before the start."}
        )
    if service_item is not None and service_item.deferral_rule == DeferralRule.ON_MILESTONE:
        raise errors.ValidationFailed(
            "A recurring fee has no milestone to defer its revenue to.",
            fields={"service_item": "Its deferral rule is for milestones."},
        )
    included = _optional(included_hours, "included_hours")
    overage = _optional(overage_rate, "overage_rate")
    if kind != FeeKind.RETAINER and (included is not None or overage is not None):
        raise errors.ValidationFailed(
            "Only a retainer has included hours and an overage rate.",
            fields={"overage_rate": "Retainers only."},
        )
    if (
        kind == FeeKind.RETAINER
        and RecurringFee.objects.filter(project=project, kind=FeeKind.RETAINER).exists()
    ):
        raise errors.Conflict(
            "The project has a retainer already.", fields={"kind": "One retainer per project."}
        )
    with transaction.atomic():
        fee = RecurringFee.objects.create(
            project=project,
            kind=kind,
            description=description.strip(),
            unit_price=_decimal(unit_price, "unit_price"),
            quantity=_decimal(quantity, "quantity"),
            period_months=period_months,
            period_anchor=period_anchor,
            start_date=start_date,
            end_date=end_date,
            included_hours=included,
            overage_rate=overage,
            service_item=service_item,
        )
        audit_record(action="recurring_fee.created", obj=fee, actor=actor)
    return fee


def _anchor_check(period_anchor: object) -> None:
    if period_anchor not in PeriodAnchor.values:
        raise errors.ValidationFailed(
            "Unknown period anchor.",
            fields={"period_anchor": "calendar_month or anniversary."},
        )


def recurring_fee_change(
    *, fee: RecurringFee, actor: Any, expected_etag: str | None = None, **changes: Any
) -> RecurringFee:
    """Change a fee's description or period anchor. The anchor moves the periods, so it
    changes only while no period of the fee is billed (credit the invoices first)."""
    unknown = set(changes) - {"description", "period_anchor"}
    if unknown:
        name = sorted(unknown)[0]
        raise errors.ValidationFailed(f"{name} cannot be changed.", fields={name: "Read-only."})
    if "period_anchor" in changes:
        _anchor_check(changes["period_anchor"])
    if "description" in changes:
        changes["description"] = str(changes["description"]).strip()
        if not changes["description"]:
            raise errors.ValidationFailed("Describe the fee.", fields={"description": "Required."})
    with transaction.atomic():
        locked = RecurringFee.objects.select_for_update().get(pk=fee.pk)
        etag_require(locked, expected_etag)
        if (
            changes.get("period_anchor", locked.period_anchor) != locked.period_anchor
            and ScheduleBilling.objects.filter(fee=locked, released_at__isnull=True).exists()
        ):
            raise errors.Conflict(
                "Periods of this fee are invoiced; the anchor can change only before the first"
                " is (credit the invoices first).",
                fields={"period_anchor": "Periods already billed."},
            )
        model_update(instance=locked, data=changes, actor=actor, action="recurring_fee.changed")
    return locked


def usage_quantity_set(
    *, fee: RecurringFee, period_start: dt.date, quantity: object, actor: Any
) -> UsageQuantity:
    """The quantity a subscription bills for one of its periods (e.g. devices in December).
    Refused once that period is billed: the invoice would no longer match."""
    amount = _decimal(quantity, "quantity")
    starts = {
        start for start, _ in fee_periods(fee, starting_through=max(period_start, fee.start_date))
    }
    if period_start not in starts:
        raise errors.ValidationFailed(
            "That date does not start one of the fee's periods.",
            fields={"period_start": "Not the first day of a period of this fee."},
        )
    with transaction.atomic():
        RecurringFee.objects.select_for_update().filter(pk=fee.pk).first()
        if ScheduleBilling.objects.filter(
            fee=fee,
            period_start=period_start,
            part=ScheduleBilling.PART_FEE,
            released_at__isnull=True,
        ).exists():
            raise errors.Conflict(
                "That period is invoiced already; credit the invoice to change it.",
                fields={"period_start": "Already billed."},
            )
        row, _ = UsageQuantity.objects.update_or_create(
            fee=fee, period_start=period_start, defaults={"quantity": amount}
        )
        audit_record(
            action="usage_quantity.set",
            obj=fee,
            actor=actor,
            after={"period_start": period_start.isoformat(), "quantity": amount},
        )
    return row


# --- recognition ---------------------------------------------------------------------------


def lines_to_recognise(*, as_of: dt.date) -> list[int]:
    """Lines deferred over their service period (recurring fees, unless their service item
    says otherwise, and any line whose service item says so) of standing invoices whose
    recognised total is behind ``as_of``."""
    done = Subquery(
        Recognition.objects.filter(line=OuterRef("pk"))
        .values("line")
        .annotate(s=Sum("amount"))
        .values("s"),
        output_field=DecimalField(),
    )
    return list(
        InvoiceLine.objects.filter(
            Q(kind=LineKind.RECURRING, deferral_rule__in=["", DeferralRule.SERVICE_PERIOD])
            | Q(deferral_rule=DeferralRule.SERVICE_PERIOD, service_end__isnull=False),
            service_start__lte=as_of,
            invoice__kind=InvoiceKind.INVOICE,
            invoice__status__in=[
                InvoiceStatus.ISSUED,
                InvoiceStatus.PARTIALLY_PAID,
                InvoiceStatus.PAID,
            ],
        )
        .annotate(done=Coalesce(done, Value(ZERO)))
        .filter(done__lt=F("net"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def line_recognise(*, line_id: int, as_of: dt.date) -> Decimal:
    """Recognise one line through ``as_of``; returns the amount posted (0 if nothing was due,
    or another worker holds the line).

    Catching up after a gap (or on a line issued after its service began), each month's share
    is dated on that month's last day, so revenue lands in the period it was earned; a month
    whose books are locked is left to the first open date."""
    with transaction.atomic():
        line = (
            InvoiceLine.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("invoice__legal_entity")
            .filter(pk=line_id)
            .first()
        )
        if line is None or line.invoice.status == InvoiceStatus.VOID:
            return ZERO
        last = line.recognitions.aggregate(d=Max("date"))["d"]
        locked = line.invoice.legal_entity.locked_through
        posted = ZERO
        for day in _recognition_dates(line, last=last, as_of=as_of):
            if day != as_of and locked and day <= locked:
                continue
            posted += _recognise_through(line, day)
    return posted


def _recognition_dates(line: InvoiceLine, *, last: dt.date | None, as_of: dt.date) -> list:
    """The month ends after the last recognition and before ``as_of``, then ``as_of``."""
    day = max(line.service_start, (last or line.service_start) + dt.timedelta(days=1))
    dates = []
    while True:
        month_end = dt.date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
        if month_end >= as_of:
            return [*dates, as_of]
        dates.append(month_end)
        day = month_end + dt.timedelta(days=1)


def _recognise_through(line: InvoiceLine, day: dt.date) -> Decimal:
    """Post what the line earned through ``day`` and is not recognised yet, dated ``day``."""
    invoice = line.invoice
    target = rules.recognised_to_date(
        amount=line.net,
        currency=invoice.currency,
        start=line.service_start,
        end=line.service_end,
        as_of=day,
    )
    done = line.recognitions.aggregate(s=Sum("amount"))["s"] or ZERO
    amount = target - done
    if amount <= 0:
        return ZERO
    try:
        with transaction.atomic():
            Recognition.objects.create(line=line, date=day, amount=amount)
    except IntegrityError:
        return ZERO  # recognised that day already
    common = {
        "amount": amount, "currency": invoice.currency, "fx_rate": invoice.fx_rate,
        "customer_id": invoice.customer_id, "project_id": line.project_id,
        "document": f"invoice:{invoice.pk}", "description": f"Recognised: {line.description}"[:200],
    }  # fmt: skip
    post = {
        "legal_entity": invoice.legal_entity, "source_type": "recognition",
        "source_id": f"{line.pk}:{day.isoformat()}", "actor_label": "recognition job",
    }  # fmt: skip
    if invoice.issue_date and day < invoice.issue_date:
        # Earned before it was invoiced: revenue of its own period against unbilled revenue,
        # which the issue date moves to the deferred revenue the invoice credited.
        journal_post(event=rules.RecurringRevenueAccrued(**common), date=day, **post)
        journal_post(
            event=rules.RecurringRevenueAccrued(**common, invoiced=True),
            date=invoice.issue_date, event_name="revenue.accrual_invoiced", **post,
        )  # fmt: skip
    else:
        journal_post(
            event=rules.RevenueRecognised(**common, revenue_role=line.revenue_role),
            date=day,
            **post,
        )
    return amount


def revenue_recognise(*, as_of: dt.date, run: Any = None) -> dict[str, int]:
    """The daily job: every line behind, one short transaction each (a crash loses at most
    the line in hand, which the next run picks up)."""
    counts = {"processed": 0, "skipped": 0, "failed": 0}
    for line_id in lines_to_recognise(as_of=as_of):
        try:
            posted = line_recognise(line_id=line_id, as_of=as_of)
        except (errors.DomainError, DatabaseError) as exc:  # recorded; the others go on
            counts["failed"] += 1
            if run is not None:
                run.failed(f"invoice line {line_id}", exc)
            continue
        counts["processed" if posted else "skipped"] += 1
        if run is not None:
            (run.processed if posted else run.skipped)()
    return counts

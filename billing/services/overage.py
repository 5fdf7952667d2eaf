"""A retainer's overage: approved hours over the included hours of an ended period, billed in
arrears, and accrued as work in progress at the period's end until it is.

- Billed more than once if need be: time approved after its period's overage was billed is
  billed by the next run as a further overage line of that period (never lost, never twice:
  each line bills the hours over the included ones not billed yet, and each further link of a
  period takes the next free ``part`` name, ``overage``, ``over2``, ``over3``…, which the
  partial unique index of the links keeps to one active link per name).
- Accrued at period end (``overage_accrue``): unbilled overage is revenue of the period it was
  worked in (Dr unbilled revenue, Cr services revenue, dated the period's last day). The
  overage line that bills it carries what is accrued and not yet relieved in ``accrued``, so
  issuing relieves exactly that (the rest of the line is revenue of the invoice); a credit
  note of that line accrues it again. Repeating the job posts only what is still unaccrued.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum

from billing.models import (
    OverageAccrual,
    RecurringFee,
    ScheduleBilling,
)
from billing.services.periods import fee_periods
from ledger import rules
from ledger.models import LegalEntity
from ledger.selectors import fx_rate_required
from ledger.services import journal_post
from psa.kernel.locking import LockSpace, lock_keys
from psa.kernel.money import round_money
from timesheets.models import EntryStatus, TimeEntry

ZERO = Decimal(0)
# Overage of a retainer is looked for in periods that ended at most this long before the run.
OVERAGE_LOOKBACK_DAYS = 400


@dataclass
class OverageDue:
    """One ended retainer period with hours over its included ones not billed yet."""

    fee: RecurringFee
    start: dt.date
    end: dt.date
    worked: Decimal  # approved billable hours in the period
    hours: Decimal  # over the included hours and not billed yet
    part: str  # the link name the next overage line of the period takes
    accrued: Decimal  # accrued at period end and not yet relieved by a line

    @property
    def amount(self) -> Decimal:
        return round_money(self.hours * (self.fee.overage_rate or ZERO), self.fee.project.currency)


def overage_part(taken: set[str]) -> str:
    """The first free link name of a period's overage lines."""
    if ScheduleBilling.PART_OVERAGE not in taken:
        return ScheduleBilling.PART_OVERAGE
    n = 2
    while f"over{n}" in taken:
        n += 1
    return f"over{n}"


def overage_due(periods: list[tuple[RecurringFee, dt.date, dt.date]]) -> list[OverageDue]:
    """Unbilled overage of each ended period, from one query of daily hours, one of the
    overage lines that stand and one of the accruals."""
    if not periods:
        return []
    fees = {fee.pk for fee, _, _ in periods}
    rows = (
        TimeEntry.objects.filter(
            project_id__in={fee.project_id for fee, _, _ in periods},
            status=EntryStatus.APPROVED,
            billable=True,
            date__gte=min(start for _, start, _ in periods),
            date__lte=max(end for _, _, end in periods),
        )
        .values("project_id", "date")
        .annotate(hours=Sum("hours"))
        .order_by()
    )
    daily: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for r in rows:
        daily[r["project_id"]].append((r["date"], r["hours"]))
    billed: dict[tuple, list] = defaultdict(lambda: [ZERO, ZERO, set()])
    for link in ScheduleBilling.objects.filter(
        fee_id__in=fees, released_at__isnull=True, part__startswith="over"
    ).select_related("line"):
        row = billed[(link.fee_id, link.period_start)]
        row[0] += link.line.quantity
        row[1] += link.line.accrued
        row[2].add(link.part)
    accrued = {
        (r["fee_id"], r["period_start"]): r["s"]
        for r in OverageAccrual.objects.filter(fee_id__in=fees)
        .values("fee_id", "period_start")
        .annotate(s=Sum("amount"))
    }
    out = []
    for fee, start, end in periods:
        worked = sum((h for day, h in daily[fee.project_id] if start <= day <= end), ZERO)
        hours_billed, relieved, parts = billed[(fee.pk, start)]
        over = worked - (fee.included_hours or ZERO) - hours_billed
        outstanding = accrued.get((fee.pk, start), ZERO) - relieved
        if over > 0 or outstanding > 0:
            out.append(
                OverageDue(fee, start, end, worked, max(over, ZERO), overage_part(parts),
                           max(outstanding, ZERO))
            )  # fmt: skip
    return out


def retainer_periods_ended(
    fees: list[RecurringFee], *, through: dt.date
) -> list[tuple[RecurringFee, dt.date, dt.date]]:
    """The periods with an overage rate that ended by ``through``, within the lookback."""
    lookback = through - dt.timedelta(days=OVERAGE_LOOKBACK_DAYS)
    return [
        (fee, start, end)
        for fee in fees
        if fee.overage_rate is not None
        for start, end in fee_periods(fee, starting_through=through)
        if lookback <= end <= through
    ]


def retainer_overage_accrue(*, fee: RecurringFee, as_of: dt.date) -> Decimal:
    """The period-end job for one retainer: accrue the unbilled overage of each of its periods
    that ended before ``as_of`` (Dr unbilled revenue, Cr services revenue, dated the period's
    last day, or the first open day if that is locked). Under the entity's billing-run lock, so
    a run and the job never both count the same hours. Returns what it posted (0 when
    everything is accrued or billed already)."""
    posted = ZERO
    with transaction.atomic():
        fee = RecurringFee.objects.select_related("project__legal_entity").get(pk=fee.pk)
        legal_entity = fee.project.legal_entity
        lock_keys(LockSpace.BILLING_RUN, legal_entity.pk)
        if fee.overage_rate is None:
            return ZERO
        ended = retainer_periods_ended([fee], through=as_of - dt.timedelta(days=1))
        for due in overage_due(ended):
            amount = due.amount - due.accrued
            if amount > 0:
                posted += _accrue(legal_entity, due, amount)
    return posted


def _accrue(legal_entity: LegalEntity, due: OverageDue, amount: Decimal) -> Decimal:
    fee = due.fee
    locked = legal_entity.locked_through
    date = due.end if not locked or due.end > locked else locked + dt.timedelta(days=1)
    row = OverageAccrual.objects.create(
        fee=fee, period_start=due.start, hours=due.hours, amount=amount, date=date
    )
    journal_post(
        legal_entity=legal_entity,
        event=rules.TimeApproved(
            amount=amount,
            currency=fee.project.currency,
            fx_rate=fx_rate_required(
                currency=fee.project.currency,
                functional=legal_entity.functional_currency,
                on=date,
                purpose="retainer overage cannot be accrued in the books",
            ),
            customer_id=fee.project.customer_id,
            project_id=fee.project_id,
            document=f"retainer:{fee.pk}:{due.start.isoformat()}",
            description=f"Overage accrued: {fee.description}, {due.start:%d %b %Y}"[:200],
        ),
        date=date,
        source_type="overage_accrual",
        source_id=row.pk,
        event_name="overage.accrued",
        actor_label="overage accrual job",
    )
    return amount

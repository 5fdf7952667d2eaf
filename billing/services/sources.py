"""What a billing run bills, per billing model. Each source reads one kind of billable work in
a few set-based queries and returns candidate lines; the run groups them into invoices, prices
them under the one rounding rule and links every item to its line.

- time & materials: approved unbilled time per (project, rate), optionally capped: the excess
  over the project's cap becomes a visible write-down line;
- prepaid fund: the same time, as fund draw-down lines, plus a top-up line when the fund's
  balance would fall below its threshold;
- fixed price: milestones reached (or due by their planned date, if the project says so);
- retainer and subscription: each period's fee in advance (the subscription's quantity per
  period from ``UsageQuantity``), and a retainer's overage hours in arrears;
- billable expenses with their markup.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet, Sum

from billing.models import (
    BillingTerms,
    ExpenseBilling,
    FeeKind,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    MilestoneBilling,
    RecurringFee,
    ScheduleBilling,
    UsageQuantity,
)
from billing.services import overage
from billing.services.periods import fee_period_share, fee_periods
from ledger.models import LegalEntity
from projects.models import BillingModel, Milestone, MilestoneStatus, ProjectStatus
from psa.kernel.money import round_money
from timesheets.models import EntryStatus, Expense

ZERO = Decimal(0)
HUNDRED = Decimal(100)
# The order of lines of one project on an invoice.
KIND_ORDER = [
    LineKind.RECURRING,
    LineKind.MILESTONE,
    LineKind.TIME,
    LineKind.FUND_DRAWDOWN,
    LineKind.WRITE_DOWN,
    LineKind.OVERAGE,
    LineKind.EXPENSE,
    LineKind.FUND_TOP_UP,
]


@dataclass
class Candidate:
    """One line a run would write, before grouping and tax."""

    customer_id: int
    currency: str
    project_id: int
    kind: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    taxable: bool = True
    entries: int = 0
    service_start: dt.date | None = None
    service_end: dt.date | None = None
    written_down_hours: Decimal = ZERO
    # Work in progress accrued for what the line bills (overage accrued at period end).
    accrued: Decimal = ZERO
    # The product the line sells (milestones, recurring fees): its revenue role and deferral.
    service_item_id: int | None = None
    # What the line bills: ("time", rate) | ("expense", id) | ("milestone", id)
    # | ("schedule", fee id, period start, part) | ("fund_top_up",)
    link: tuple = ()
    sort: tuple = field(default_factory=tuple)

    @property
    def net(self) -> Decimal:
        return round_money(self.quantity * self.unit_price, self.currency)


@dataclass(frozen=True)
class Scope:
    legal_entity: LegalEntity
    period_end: dt.date
    customer: Any = None
    project: Any = None
    # Projects billed on a calendar of their own: a customer's or entity's run leaves them.
    exclude_projects: tuple[int, ...] = ()

    def projects(self, field_prefix: str = "") -> Q:
        q = Q(**{f"{field_prefix}legal_entity": self.legal_entity})
        if self.customer is not None:
            q &= Q(**{f"{field_prefix}customer": self.customer})
        if self.project is not None:
            q &= Q(**{f"{field_prefix}pk": self.project.pk})
        if self.exclude_projects:
            q &= ~Q(**{f"{field_prefix}pk__in": self.exclude_projects})
        return q


# --- time (T&M and prepaid fund draw-down), with caps ---------------------------------------------


def time_candidates(scope: Scope, groups: list[tuple]) -> list[Candidate]:
    """Lines from (customer, currency, project, billing model, rate, hours, entries) groups,
    and a write-down line per capped project whose billed time would pass its cap."""

    out: list[Candidate] = []
    per_project: dict[int, list[Candidate]] = defaultdict(list)
    for customer_id, currency, project_id, model, rate, hours, entries in groups:
        fund = model == BillingModel.PREPAID_FUND
        what = "Time drawn from the prepaid fund" if fund else "Professional services"
        cand = Candidate(
            customer_id=customer_id,
            currency=currency,
            project_id=project_id,
            kind=LineKind.FUND_DRAWDOWN if fund else LineKind.TIME,
            description=f"{what} through {scope.period_end:%d %b %Y}",
            quantity=hours,
            unit_price=rate,
            entries=entries,
            link=("time", rate),
            sort=(-rate,),
        )
        out.append(cand)
        if not fund:
            per_project[project_id].append(cand)
    caps = dict(
        BillingTerms.objects.filter(
            project_id__in=per_project, cap_amount__isnull=False
        ).values_list("project_id", "cap_amount")
    )
    billed = _time_billed(caps.keys())
    for project_id, cap in caps.items():
        lines = per_project[project_id]
        run_net = sum((c.net for c in lines), ZERO)
        run_hours = sum((c.quantity for c in lines), ZERO)
        excess = min(billed.get(project_id, ZERO) + run_net - cap, run_net)
        if excess <= 0:
            continue
        first = lines[0]
        out.append(
            Candidate(
                customer_id=first.customer_id,
                currency=first.currency,
                project_id=project_id,
                kind=LineKind.WRITE_DOWN,
                description=f"Write-down: time capped at {cap:,.2f} {first.currency}",
                quantity=Decimal(1),
                unit_price=-excess,
                written_down_hours=(excess * run_hours / run_net).quantize(Decimal("0.01")),
            )
        )
    return out


def _time_billed(project_ids: Any) -> dict[int, Decimal]:
    """Net time billed so far per project, after write-downs, on invoices that stand."""
    rows = (
        InvoiceLine.objects.filter(
            project_id__in=list(project_ids),
            kind__in=[LineKind.TIME, LineKind.WRITE_DOWN],
            invoice__kind=InvoiceKind.INVOICE,
        )
        .exclude(invoice__status=InvoiceStatus.VOID)
        .values("project_id")
        .annotate(net=Sum("net"))
    )
    return {r["project_id"]: r["net"] for r in rows}


# --- expenses -----------------------------------------------------------------------------------


def unbilled_expenses(scope: Scope) -> QuerySet:

    active = ExpenseBilling.objects.filter(expense=OuterRef("pk"), released_at__isnull=True)
    return (
        Expense.objects.filter(
            scope.projects("project__"),
            status=EntryStatus.APPROVED,
            billable=True,
            date__lte=scope.period_end,
        )
        .exclude(Exists(active))
        .select_related("project", "person")
        .order_by("date", "id")
    )


def expense_candidates(expenses: list) -> list[Candidate]:
    out = []
    for e in expenses:
        price = (e.amount * (HUNDRED + e.markup_percent) / HUNDRED).quantize(Decimal("0.0001"))
        markup = f", +{e.markup_percent.normalize():f} %" if e.markup_percent else ""
        text = e.description or e.get_category_display()
        out.append(
            Candidate(
                customer_id=e.project.customer_id,
                currency=e.currency,
                project_id=e.project_id,
                kind=LineKind.EXPENSE,
                description=f"Expense {e.date:%d %b %Y}: {text} ({e.person}{markup})"[:300],
                quantity=Decimal(1),
                unit_price=price,
                entries=1,
                link=("expense", e.pk),
                sort=(e.date, e.pk),
            )
        )
    return out


# --- fixed-price milestones ---------------------------------------------------------------------


def unbilled_milestones(scope: Scope) -> QuerySet:

    active = MilestoneBilling.objects.filter(milestone=OuterRef("pk"), released_at__isnull=True)
    due = Q(status=MilestoneStatus.REACHED, reached_on__lte=scope.period_end) | Q(
        status=MilestoneStatus.PLANNED,
        planned_date__lte=scope.period_end,
        project__billing_terms__milestones_on_planned_date=True,
    )
    return (
        Milestone.objects.filter(
            due,
            scope.projects("project__"),
            project__billing_model=BillingModel.FIXED_PRICE,
        )
        .exclude(Exists(active))
        .select_related("project")
        .order_by("planned_date", "id")
    )


def milestone_candidates(milestones: list) -> list[Candidate]:
    return [
        Candidate(
            customer_id=m.project.customer_id,
            currency=m.project.currency,
            project_id=m.project_id,
            kind=LineKind.MILESTONE,
            description=f"Milestone: {m.name}"[:300],
            quantity=Decimal(1),
            unit_price=m.amount,
            service_item_id=m.service_item_id,
            link=("milestone", m.pk),
            sort=(m.planned_date, m.pk),
        )
        for m in milestones
    ]


# --- retainers and subscriptions ----------------------------------------------------------------


def recurring_fees(scope: Scope) -> QuerySet:
    return (
        RecurringFee.objects.filter(
            scope.projects("project__"),
            start_date__lte=scope.period_end + dt.timedelta(days=1),
        )
        .select_related("project")
        .order_by("id")
    )


def recurring_candidates(scope: Scope, fees: list[RecurringFee]) -> list[Candidate]:
    """Every fee period starting by the day after the run's period end (billed in advance)
    that no active link bills yet, and the unbilled overage of every ended retainer period
    (``billing.services.overage``)."""
    if not fees:
        return []
    billed = set(
        ScheduleBilling.objects.filter(
            fee__in=fees, released_at__isnull=True, part=ScheduleBilling.PART_FEE
        ).values_list("fee_id", "period_start")
    )
    usage = {
        (u.fee_id, u.period_start): u.quantity for u in UsageQuantity.objects.filter(fee__in=fees)
    }
    out: list[Candidate] = []
    advance_through = scope.period_end + dt.timedelta(days=1)
    for fee in fees:
        for start, end in fee_periods(fee, starting_through=advance_through):
            if (fee.pk, start) not in billed:
                out.append(_fee_candidate(fee, start, end, usage.get((fee.pk, start))))
    ended = overage.retainer_periods_ended(fees, through=scope.period_end)
    out.extend(_overage_candidate(due) for due in overage.overage_due(ended) if due.hours > 0)
    return out


def _overage_candidate(due: overage.OverageDue) -> Candidate:
    """An overage line: the hours not billed yet, relieving what the period-end job accrued."""
    fee = due.fee
    later = "" if due.part == ScheduleBilling.PART_OVERAGE else "further time approved, "
    return Candidate(
        customer_id=fee.project.customer_id,
        currency=fee.project.currency,
        project_id=fee.project_id,
        kind=LineKind.OVERAGE,
        description=(
            f"Overage: {later}{due.worked:f} h worked, {fee.included_hours or ZERO:f} h "
            f"included, {due.start:%d %b} to {due.end:%d %b %Y}"
        )[:300],
        quantity=due.hours,
        unit_price=fee.overage_rate,
        accrued=min(due.accrued, due.amount),
        link=("schedule", fee.pk, due.start, due.part),
        sort=(due.start, fee.pk),
    )


def _fee_candidate(
    fee: RecurringFee, start: dt.date, end: dt.date, quantity: Decimal | None
) -> Candidate:
    label = "Retainer" if fee.kind == FeeKind.RETAINER else "Subscription"
    days, whole = fee_period_share(fee, start, end)
    price, prorated = fee.unit_price, ""
    if days != whole:
        # A partial calendar period: the unit price pro rata by days (to the price's 4 places).
        price = (fee.unit_price * days / whole).quantize(Decimal("0.0001"))
        prorated = f" ({days}/{whole} days)"
    return Candidate(
        customer_id=fee.project.customer_id,
        currency=fee.project.currency,
        project_id=fee.project_id,
        kind=LineKind.RECURRING,
        description=(f"{label}: {fee.description}, {start:%d %b %Y} to {end:%d %b %Y}{prorated}")[
            :300
        ],
        quantity=fee.quantity if quantity is None else quantity,
        unit_price=price,
        service_start=start,
        service_end=end,
        service_item_id=fee.service_item_id,
        link=("schedule", fee.pk, start, ScheduleBilling.PART_FEE),
        sort=(start, fee.pk),
    )


# --- prepaid fund -------------------------------------------------------------------------------


def fund_balances(project_ids: Any) -> dict[int, Decimal]:
    """Each fund's projected balance: top-ups on invoices that stand (drafts included) less the
    gross of draw-down lines on them; absent for a fund never billed. Drafts count, so a
    second run before the first's invoices are issued does not top up again."""
    rows = (
        InvoiceLine.objects.filter(
            project_id__in=list(project_ids),
            kind__in=[LineKind.FUND_TOP_UP, LineKind.FUND_DRAWDOWN],
            invoice__kind=InvoiceKind.INVOICE,
        )
        .exclude(invoice__status=InvoiceStatus.VOID)
        .values("project_id", "kind")
        .annotate(net=Sum("net"), tax=Sum("tax"))
    )
    balance: dict[int, Decimal] = {}
    for r in rows:
        change = r["net"] if r["kind"] == LineKind.FUND_TOP_UP else -(r["net"] + r["tax"])
        balance[r["project_id"]] = balance.get(r["project_id"], ZERO) + change
    return balance


def fund_top_up_candidates(
    scope: Scope, drawn: dict[int, Decimal], terms: list[BillingTerms]
) -> list[Candidate]:
    """A top-up per fund whose balance, after this run's draw-downs (``drawn``: gross per
    project), falls below its threshold."""
    balances = fund_balances([t.project_id for t in terms])
    out = []
    for t in terms:
        balance = balances.get(t.project_id)
        after = (balance or ZERO) - drawn.get(t.project_id, ZERO)
        # Only a draw-down makes a balance fall, so only a run that draws one (or a fund never
        # topped up) tops up: repeating a run with nothing new adds nothing.
        if after >= t.fund_threshold or (balance is not None and not drawn.get(t.project_id)):
            continue
        out.append(
            Candidate(
                customer_id=t.project.customer_id,
                currency=t.project.currency,
                project_id=t.project_id,
                kind=LineKind.FUND_TOP_UP,
                description=(
                    f"Prepaid fund top-up (balance {after:,.2f} {t.project.currency}, "
                    f"below {t.fund_threshold:,.2f})"
                ),
                quantity=Decimal(1),
                unit_price=t.fund_top_up,
                taxable=False,
                link=("fund_top_up",),
            )
        )
    return out


def fund_terms(scope: Scope) -> list[BillingTerms]:

    return list(
        BillingTerms.objects.filter(
            scope.projects("project__"),
            project__billing_model=BillingModel.PREPAID_FUND,
            project__status__in=[ProjectStatus.PLANNED, ProjectStatus.ACTIVE],
            fund_threshold__isnull=False,
            fund_top_up__isnull=False,
        ).select_related("project")
    )

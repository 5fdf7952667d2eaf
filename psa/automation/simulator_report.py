"""What a simulated firm's run comes to: the human actions it needs (from the operations
page's selectors and the reasons the jobs recorded), documents, reminders, DSO, cash, the
trial balance and anything stuck. Read by ``manage.py simulate`` and its tests."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from billing.models import DunningReminder, Invoice, InvoiceKind, InvoiceStatus
from billing.selectors import attempts_needing_attention
from ledger import selectors as books
from ledger.models import OutboxMessage
from psa.automation import operations as ops
from psa.automation.models import JobRun
from psa.automation.simulator import Events, Firm
from psa.kernel.mail import mail_problems
from psa.kernel.models import DeliveryStatus, MailMessage


@dataclass
class SimReport:
    # kind -> ["item: reason", ...]: what waits for a person at the end of the run
    actions: dict[str, list[str]] = field(default_factory=dict)
    # job -> {reason: count}: every wait the jobs recorded while the firm ran
    waits: dict[str, dict[str, int]] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    stuck: dict[str, list[str]] = field(default_factory=dict)
    # what did not go to plan but needed nobody, each with its explanation
    exceptions: list[str] = field(default_factory=list)
    balanced: bool = False

    @property
    def human_actions(self) -> int:
        return sum(len(items) for items in self.actions.values())

    @property
    def unexplained(self) -> list[str]:
        """Items that wait without a reason (the issue's "nothing waits silently")."""
        out = []
        for kind, items in self.actions.items():
            out += [f"{kind}: {i}" for i in items if not i.partition(": ")[2].strip()]
        for job, reasons in self.waits.items():
            out += [f"{job}: (no reason)" for reason in reasons if not reason.strip()]
        return out


def report_build(*, firm: Firm, events: Events, as_of: dt.date, since: dt.datetime) -> SimReport:
    """The report of the firm's run; ``since``: when the run began (real time), so only the
    job runs it drove are read."""
    report = SimReport()
    _actions(report, firm)
    for run in JobRun.objects.filter(started_at__gte=since).exclude(waits=[]):
        for wait in run.waits:
            counts = report.waits.setdefault(run.job, defaultdict(int))
            counts[wait.get("reason", "")] += 1
    _figures(report, firm, events, as_of)
    report.exceptions = [*events.late_weeks, *events.late_payments, *events.refused]
    _stuck(report, firm, since)
    rows = books.trial_balance(legal_entity=firm.entity, as_of=as_of)
    debit = sum((r.debit for r in rows), Decimal(0))
    credit = sum((r.credit for r in rows), Decimal(0))
    report.balanced = debit == credit
    report.figures["trial balance"] = f"debits {debit:,.2f} = credits {credit:,.2f} GBP"
    return report


def _actions(report: SimReport, firm: Firm) -> None:
    """What the operations page lists for a person, for this firm."""
    now = timezone.now()
    codes = {p.code for p in firm.projects}
    weeks = [w for w in ops.weeks_awaiting_approval(now) if w["project__code"] in codes]
    report.actions["weeks awaiting approval"] = [
        f"{w['person']}, week of {w['week']:%d %b %Y} on {w['project__code']} "
        f"({w['hours']} h): {w['reason']}"
        for w in weeks
    ]
    drafts = [d for d in ops.drafts_awaiting_review(now) if d.legal_entity_id == firm.entity.pk]
    report.actions["drafts awaiting review"] = [
        f"draft {d.pk} for {d.customer}: {d.reason}" for d in drafts
    ]
    unsent = [u for u in ops.invoices_not_sent(now) if u.legal_entity_id == firm.entity.pk]
    report.actions["invoices not sent"] = [f"{u.number}: {u.reason}" for u in unsent]
    attempts = attempts_needing_attention(visible_to=firm.finance, now=now).filter(
        invoice__legal_entity=firm.entity
    )
    report.actions["payments needing action"] = [
        f"{a.invoice.number}: {a.error_message or a.status}" for a in attempts
    ]


def _figures(report: SimReport, firm: Firm, events: Events, as_of: dt.date) -> None:
    invoices = Invoice.objects.filter(legal_entity=firm.entity, kind=InvoiceKind.INVOICE)
    issued = invoices.exclude(status__in=(InvoiceStatus.DRAFT,))
    cash = books.balances_by_role(legal_entity=firm.entity, as_of=as_of).get("bank", Decimal(0))
    dso = books.dso(legal_entity=firm.entity, as_of=as_of)
    report.figures.update(
        {
            "time logged": f"{events.entries} entries, {events.hours} h "
            f"({events.overtime_days} overtime days, {events.days_off} days off)",
            "weeks submitted": events.weeks_submitted,
            "invoices issued": issued.count(),
            "invoices sent": issued.filter(sent_at__isnull=False).count(),
            "invoices paid": issued.filter(status=InvoiceStatus.PAID).count(),
            "payments received": events.payments,
            "reminders sent": DunningReminder.objects.filter(
                invoice__legal_entity=firm.entity, sent_at__isnull=False
            ).count(),
            "DSO": "n/a (no sales)" if dso is None else f"{dso} days",
            "cash": f"{cash:,.2f} {firm.entity.functional_currency}",
        }
    )


def _stuck(report: SimReport, firm: Firm, since: dt.datetime) -> None:
    mail = mail_problems()
    report.stuck["mail failed or stuck"] = [f"{m.idempotency_key}: {m.last_error}" for m in mail]
    report.stuck["mail not sent yet"] = list(
        MailMessage.objects.exclude(status=DeliveryStatus.DELIVERED)
        .exclude(pk__in=[m.pk for m in mail])
        .values_list("idempotency_key", flat=True)
    )
    report.stuck["accounting deliveries failing"] = [
        f"{m.topic} {m.pk}: {m.last_error}"
        for m in OutboxMessage.objects.filter(legal_entity=firm.entity, attempts__gt=0).exclude(
            status=DeliveryStatus.DELIVERED
        )
    ]
    report.stuck["job items failed"] = [
        f"{run.job}: {error}"
        for run in JobRun.objects.filter(started_at__gte=since, failed__gt=0)
        for error in (run.errors or ["(no detail)"])
    ]


def report_lines(report: SimReport, *, seconds: float | None = None) -> list[str]:
    lines = [f"Human actions needed: {report.human_actions}"]
    for kind, items in report.actions.items():
        lines.append(f"  {kind}: {len(items)}")
        lines += [f"    - {item}" for item in items[:20]]
    # The jobs run for every legal entity: on a database with other firms, theirs show too.
    lines.append("Waits the jobs recorded, all entities (with their reasons):" if report.waits
                 else "Waits the jobs recorded, all entities: none")  # fmt: skip
    for job, reasons in report.waits.items():
        lines += [f"  {job}: {n} times: {reason}" for reason, n in reasons.items()]
    lines += [f"{name}: {value}" for name, value in report.figures.items()]
    lines.append(f"Exceptions that needed nobody: {len(report.exceptions)}")
    lines += [f"  - {item}" for item in report.exceptions[:20]]
    lines.append(f"Trial balance balanced: {'yes' if report.balanced else 'NO'}")
    stuck = {k: v for k, v in report.stuck.items() if v}
    lines.append("Stuck: nothing" if not stuck else "Stuck:")
    for kind, items in stuck.items():
        lines.append(f"  {kind}: {len(items)}")
        lines += [f"    - {item}" for item in items[:10]]
    if seconds is not None:
        lines.append(f"Wall time: {seconds:.1f} s")
    return lines

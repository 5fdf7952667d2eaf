"""Approved billable time accrues work in progress in the books, in the approving transaction.

Posting rule (DOMAIN.md): billable T&M time approved → Dr unbilled revenue / Cr services
revenue, valued at each entry's resolved rate. One journal entry per project, person and
approval batch: the batch's entry ids make its source key, so a retried approval posts nothing
twice, and an entry is approved only once, so no batch repeats another.

Each entry keeps its share of the posting (``accrued_amount`` in the project's currency,
``accrued_functional`` in the entity's), allocated by largest remainder so the shares sum
exactly to the posted lines: billing relieves WIP by exactly these amounts, whatever the rate
card or the exchange rate says by then, so WIP clears to zero.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, ExpressionWrapper, F, Q

from ledger import rules
from ledger.selectors import fx_rate_required
from ledger.services import journal_post
from projects.models import BillingModel, Project
from projects.selectors import entry_rate
from psa.kernel import clock
from psa.kernel.money import allocate, round_money
from timesheets.models import EntryStatus, TimeEntry

# An entry's value at its resolved rate (NULL when no rate is in force).
_VALUE = ExpressionWrapper(
    F("hours") * entry_rate(), output_field=DecimalField(max_digits=16, decimal_places=4)
)


def _batches(entry_ids: list[int]) -> dict[tuple[int, int], list[tuple[int, Decimal]]]:
    """(project, person) → [(entry id, value at its resolved rate)], in id order; the value is
    zero for an entry with no rate in force."""
    rows = (
        TimeEntry.objects.filter(
            pk__in=entry_ids,
            status=EntryStatus.APPROVED,
            billable=True,
            project__billing_model=BillingModel.TIME_AND_MATERIALS,
        )
        .annotate(entry_value=_VALUE)
        .values_list("project_id", "person_id", "id", "entry_value")
        .order_by("project_id", "person_id", "id")
    )
    out: dict[tuple[int, int], list[tuple[int, Decimal]]] = {}
    for project_id, person_id, pk, entry_value in rows:
        out.setdefault((project_id, person_id), []).append((pk, entry_value or Decimal(0)))
    return out


def time_accrual_shares_record(*, entry_ids: list[int], project: Project, posted: Any) -> None:
    """Record each entry's share of ``posted``, a WIP accrual (TimeApproved) journal entry of
    these entries posted some other way (the demo's weekly accruals), in proportion to their
    value at their resolved rates. Entries that have their shares already (or are billed, and
    so frozen) keep what they have."""
    done = Q(accrued_amount__isnull=False) | Q(billed_at__isnull=False)
    if TimeEntry.objects.filter(done, pk__in=entry_ids).exists():
        return
    rows = (
        TimeEntry.objects.filter(pk__in=entry_ids)
        .annotate(entry_value=_VALUE)
        .values_list("id", "entry_value")
        .order_by("id")
    )
    values = {pk: v or Decimal(0) for pk, v in rows}
    wip = [ln for ln in posted.lines.all() if ln.amount_currency > 0]
    _record_shares(
        list(values.items()),
        amount=sum((ln.amount_currency for ln in wip), Decimal(0)),
        functional=sum((ln.debit for ln in wip), Decimal(0)),
        project=project,
    )


def _record_shares(
    entries: list[tuple[int, Decimal]], *, amount: Decimal, functional: Decimal, project: Project
) -> None:
    """Each entry's share of the posting, in both currencies, summing exactly to it."""
    weights = [v for _, v in entries]
    amounts = allocate(amount, weights, project.currency)
    functionals = allocate(functional, weights, project.legal_entity.functional_currency)
    TimeEntry.objects.bulk_update(
        [
            TimeEntry(pk=pk, accrued_amount=a, accrued_functional=f)
            for (pk, _), a, f in zip(entries, amounts, functionals, strict=True)
        ],
        ["accrued_amount", "accrued_functional"],
    )


def time_approved_accrue(*, entry_ids: list[int], actor: Any = None, actor_label: str = "") -> int:
    """Post the WIP accrual of these newly approved entries and record each entry's share.
    Returns the entries posted."""

    if not entry_ids:
        return 0
    batches = _batches(entry_ids)
    today = clock.today()
    posted = 0
    projects = Project.objects.select_related("legal_entity").in_bulk(
        {project_id for project_id, _ in batches}
    )
    for (project_id, person_id), entries in batches.items():
        project = projects[project_id]
        amount = round_money(sum((v for _, v in entries), Decimal(0)), project.currency)
        if not amount:
            continue  # no rate in force: nothing to value yet
        entity = project.legal_entity
        rate = fx_rate_required(
            currency=project.currency,
            functional=entity.functional_currency,
            on=today,
            purpose="approved time cannot be valued in the books",
        )
        ids = [pk for pk, _ in entries]
        batch = hashlib.sha1(",".join(map(str, ids)).encode(), usedforsecurity=False).hexdigest()
        entry = journal_post(
            legal_entity=entity,
            event=rules.TimeApproved(
                amount=amount,
                currency=project.currency,
                fx_rate=rate,
                customer_id=project.customer_id,
                project_id=project.pk,
                person_id=person_id,
                description=f"Approved time, {len(ids)} entr{'y' if len(ids) == 1 else 'ies'}",
            ),
            date=today,
            source_type="time_approval",
            source_id=f"{project.pk}:{batch[:24]}",
            actor=actor,
            actor_label=actor_label,
        )
        functional = sum(
            (ln.debit for ln in entry.lines.all() if ln.debit and ln.amount_currency > 0),
            Decimal(0),
        )
        _record_shares(entries, amount=amount, functional=functional, project=project)
        posted += len(ids)
    return posted

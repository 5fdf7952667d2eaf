"""Approved billable time accrues work in progress in the books, in the approving transaction.

Posting rule (DOMAIN.md): billable T&M time approved → Dr unbilled revenue / Cr services
revenue, valued at each entry's resolved rate. One journal entry per project and approval
batch: the batch's entry ids make its source key, so a retried approval posts nothing twice,
and an entry is approved only once, so no batch repeats another.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import DecimalField, ExpressionWrapper, F, Sum
from django.utils import timezone

from ledger import rules
from ledger.selectors import fx_rate_required
from ledger.services import journal_post
from projects.models import BillingModel, Project
from projects.selectors import entry_rate
from psa.kernel.money import round_money
from timesheets.models import EntryStatus, TimeEntry


def time_approved_accrue(*, entry_ids: list[int], actor: Any = None, actor_label: str = "") -> int:
    """Post the WIP accrual of these newly approved entries. Returns the entries posted."""

    if not entry_ids:
        return 0
    value = ExpressionWrapper(
        F("hours") * entry_rate(), output_field=DecimalField(max_digits=16, decimal_places=4)
    )
    rows = (
        TimeEntry.objects.filter(
            pk__in=entry_ids,
            status=EntryStatus.APPROVED,
            billable=True,
            project__billing_model=BillingModel.TIME_AND_MATERIALS,
        )
        .annotate(entry_value=value)
        .values("project_id", "person_id")
        .annotate(amount=Sum("entry_value"), ids=ArrayAgg("id"))
        .order_by("project_id", "person_id")
    )
    today = timezone.localdate()
    posted = 0
    projects = Project.objects.select_related("legal_entity").in_bulk(
        {r["project_id"] for r in rows}
    )
    for row in rows:
        if not row["amount"]:
            continue  # no rate in force: nothing to value yet
        project = projects[row["project_id"]]
        entity = project.legal_entity
        rate = fx_rate_required(
            currency=project.currency,
            functional=entity.functional_currency,
            on=today,
            purpose="approved time cannot be valued in the books",
        )
        ids = sorted(row["ids"])
        batch = hashlib.sha1(",".join(map(str, ids)).encode(), usedforsecurity=False).hexdigest()
        journal_post(
            legal_entity=entity,
            event=rules.TimeApproved(
                amount=round_money(row["amount"], project.currency),
                currency=project.currency,
                fx_rate=rate,
                customer_id=project.customer_id,
                project_id=project.pk,
                person_id=row["person_id"],
                description=f"Approved time, {len(ids)} entr{'y' if len(ids) == 1 else 'ies'}",
            ),
            date=today,
            source_type="time_approval",
            source_id=f"{project.pk}:{batch[:24]}",
            actor=actor,
            actor_label=actor_label,
        )
        posted += len(ids)
    return posted

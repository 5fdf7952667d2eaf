"""The only way to write to the books: set up an entity, post, reverse, lock periods.

Posting is idempotent: an event is identified by (legal entity, source type, source id, event
name) and a unique constraint lets it post once, whoever calls twice and however concurrently.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction

from ledger import hooks, rules, sources
from ledger.chart import DEFAULT_CHART
from ledger.manual import manual_lines
from ledger.models import (
    Account,
    FxRate,
    Integration,
    IntegrationMode,
    JournalEntry,
    JournalLine,
    LegalEntity,
    RoleMapping,
)
from psa.kernel import clock, correlation, errors, outbound
from psa.kernel.audit import audit_record
from psa.kernel.dates import date_require
from psa.kernel.roles import Role, require_role
from psa.kernel.validators import currency_code
from psa.kernel.webhooks import webhooks_emit


def books_setup(*, legal_entity: LegalEntity) -> None:
    """Give an entity the default chart and role mapping, and what the floors above give every
    entity (``ledger.hooks``: billing's default dunning levels); existing rows are kept."""
    with transaction.atomic():
        existing = {a.code: a for a in Account.objects.filter(legal_entity=legal_entity)}
        new = [
            Account(legal_entity=legal_entity, code=code, name=name, type=kind)
            for code, name, kind, _ in DEFAULT_CHART
            if code not in existing
        ]
        for account in Account.objects.bulk_create(new):
            existing[account.code] = account
        mapped = set(
            RoleMapping.objects.filter(legal_entity=legal_entity).values_list("role", flat=True)
        )
        RoleMapping.objects.bulk_create(
            RoleMapping(legal_entity=legal_entity, role=role, account=existing[code])
            for code, _, _, role in DEFAULT_CHART
            if role and role not in mapped
        )
        Integration.objects.get_or_create(legal_entity=legal_entity)
        for hook in hooks.entity_setup_hooks():
            hook(legal_entity=legal_entity)


def role_remap(
    *, legal_entity: LegalEntity, role: str, account: Account, actor: Any
) -> RoleMapping:
    """Finance points a role at another of the entity's accounts (future postings only)."""
    require_role(actor, Role.FINANCE)
    if account.legal_entity_id != legal_entity.pk:
        raise errors.ValidationFailed(
            "That account belongs to another legal entity.", fields={"account": "Wrong entity."}
        )
    with transaction.atomic():
        mapping = RoleMapping.objects.select_for_update().get(legal_entity=legal_entity, role=role)
        before = {"account": mapping.account.code}
        mapping.account = account
        mapping.save(update_fields=["account"])
        audit_record(
            action="ledger.role_remapped", obj=mapping, actor=actor, before=before,
            after={"account": account.code},
        )  # fmt: skip
    return mapping


def integration_update(
    *, legal_entity: LegalEntity, actor: Any, mode: str, endpoint_url: str, signing_secret: str
) -> Integration:
    """Finance chooses how the books reach the accounting system."""
    require_role(actor, Role.FINANCE)
    if mode not in IntegrationMode.values:
        raise errors.ValidationFailed("Unknown integration mode.", fields={"mode": "Unknown."})
    fields: dict[str, str] = {}
    refusal = outbound.url_refusal(endpoint_url) if mode != IntegrationMode.NONE else ""
    if refusal:
        fields["endpoint_url"] = refusal
    if mode != IntegrationMode.NONE and len(signing_secret) < 16:
        fields["signing_secret"] = "Use at least 16 characters."  # noqa: S105 - a message
    if fields:
        raise errors.ValidationFailed("The integration settings are incomplete.", fields=fields)
    with transaction.atomic():
        row, _ = Integration.objects.select_for_update().get_or_create(legal_entity=legal_entity)
        before = {"mode": row.mode, "endpoint_url": row.endpoint_url}
        row.mode, row.endpoint_url, row.signing_secret = mode, endpoint_url, signing_secret
        row.save(update_fields=["mode", "endpoint_url", "signing_secret"])
        audit_record(
            action="ledger.integration_changed", obj=row, actor=actor, before=before,
            after={"mode": mode, "endpoint_url": endpoint_url},
        )  # fmt: skip
    return row


def _accounts_by_role(legal_entity: LegalEntity) -> dict[str, int]:
    mapping = dict(
        RoleMapping.objects.filter(legal_entity=legal_entity).values_list("role", "account_id")
    )
    if not mapping:
        # An entity that never had books gets the default chart on its first posting.
        books_setup(legal_entity=legal_entity)
        return _accounts_by_role(legal_entity)
    return mapping


def journal_preview(*, legal_entity: LegalEntity, event: rules.Event) -> list[rules.Line]:
    """The lines ``event`` would post, without posting anything."""
    return rules.build_lines(event, legal_entity.functional_currency)


def journal_post(
    *,
    legal_entity: LegalEntity,
    event: rules.Event,
    date: dt.date,
    source_type: str,
    source_id: str | int,
    actor: Any = None,
    actor_label: str = "",
    memo: str = "",
    event_name: str | None = None,
) -> JournalEntry | None:
    """Post ``event`` once. A second call for the same source and event returns the first
    entry; an event that moves nothing posts no entry and returns None.

    Call inside the business change's transaction: the entry commits or rolls back with it.
    """
    name = event_name or event.name
    source_id = str(source_id)
    existing = JournalEntry.objects.filter(
        legal_entity=legal_entity, source_type=source_type, source_id=source_id, event=name
    ).first()
    if existing:
        return existing
    _require_open(legal_entity, date)
    lines = rules.build_lines(event, legal_entity.functional_currency)
    if not lines:
        return None  # nothing moves (a 0.00 document of unaccrued time): no entry to post
    return _insert(
        legal_entity=legal_entity, lines=lines, date=date, event=name, source_type=source_type,
        source_id=source_id, currency=event.currency, fx_rate=event.fx_rate, actor=actor,
        actor_label=actor_label, memo=memo or event.description,
    )  # fmt: skip


def _require_open(legal_entity: LegalEntity, date: dt.date) -> None:
    locked = legal_entity.locked_through
    if locked and date <= locked:
        raise errors.ValidationFailed(
            f"The books of {legal_entity} are locked through {locked:%d %b %Y}.",
            fields={"date": f"Must be after {locked:%Y-%m-%d}."},
            code="period_locked",
        )


def _insert(
    *,
    legal_entity: LegalEntity,
    lines: Iterable[rules.Line],
    date: dt.date,
    event: str,
    source_type: str,
    source_id: str,
    currency: str,
    fx_rate: Any,
    actor: Any,
    actor_label: str,
    memo: str,
) -> JournalEntry:
    accounts = _accounts_by_role(legal_entity)
    lines = list(lines)
    missing = sorted({ln.role for ln in lines} - accounts.keys())
    if missing:
        raise errors.ValidationFailed(
            f"{legal_entity} has no account mapped to: {', '.join(missing)}.",
            fields={"role": missing},
            code="role_unmapped",
        )
    entry = _new_entry(
        legal_entity=legal_entity, date=date, event=event, source_type=source_type,
        source_id=source_id, currency=currency, fx_rate=fx_rate, actor=actor,
        actor_label=actor_label, memo=memo,
    )  # fmt: skip
    try:
        # A savepoint, so that losing a race to a concurrent poster of the same event leaves
        # the caller's transaction usable: we then return the winner's entry.
        with transaction.atomic():
            _write(entry, [(accounts[ln.role], ln) for ln in lines])
    except IntegrityError:
        winner = JournalEntry.objects.filter(
            legal_entity=legal_entity, source_type=source_type, source_id=source_id, event=event
        ).first()
        if winner is None:
            raise
        return winner
    return entry


def _new_entry(*, actor: Any, actor_label: str, memo: str, **fields: Any) -> JournalEntry:
    user = actor if getattr(actor, "is_authenticated", False) else None
    return JournalEntry(
        memo=memo[:300],
        rule_version=rules.RULES_VERSION,
        posted_by=user,
        actor_label="" if user else (actor_label or "system"),
        correlation_id=correlation.get(),
        **fields,
    )


def _write(entry: JournalEntry, pairs: list[tuple[int, rules.Line]]) -> None:
    """Insert the entry and its lines (account id, line); the triggers check them at commit."""
    entry.save(force_insert=True)
    JournalLine.objects.bulk_create(
        JournalLine(
            entry=entry,
            legal_entity_id=entry.legal_entity_id,
            date=entry.date,
            account_id=account_id,
            debit=ln.debit,
            credit=ln.credit,
            currency=ln.currency,
            amount_currency=ln.amount_currency,
            fx_rate=ln.fx_rate,
            customer_id=ln.customer_id,
            project_id=ln.project_id,
            person_id=ln.person_id,
            document=ln.document,
            due_date=ln.due_date,
            description=ln.description[:300],
        )
        for account_id, ln in pairs
    )
    _outbox_for_entry(entry)


def _outbox_for_entry(entry: JournalEntry) -> None:
    """Webhook subscribers hear of the entry; in journal-post mode it also travels to the
    accounting system via the outbox."""
    # Imported here: the outbox and the selectors import this module (cycles within ledger).
    from ledger.outbox import integration_publish
    from ledger.selectors import entry_payload

    webhooks_emit(
        event="journal.posted",
        data={"entry_id": entry.pk, "legal_entity": entry.legal_entity.code,
              "date": entry.date.isoformat(), "event": entry.event,
              "source": f"{entry.source_type}:{entry.source_id}"},
    )  # fmt: skip
    if not Integration.objects.filter(
        legal_entity_id=entry.legal_entity_id, mode=IntegrationMode.JOURNAL_POST
    ).exists():
        return  # don't build a payload nobody will send
    integration_publish(
        legal_entity=entry.legal_entity,
        topic="journal.posted",
        payload=entry_payload(entry),
        key=f"journal-{entry.legal_entity.code}-{entry.pk}",
    )


def journal_reverse(
    *, entry: JournalEntry, date: dt.date, reason: str, actor: Any = None, actor_label: str = ""
) -> JournalEntry:
    """Post the mirror image of a manual ``entry``. If its period is locked, the reversal is
    dated on the first open day instead, so a closed period is never reopened.

    An entry a business document posted is refused (409): only the document's own action
    (void, refund, …) may undo it, or the document and the books would disagree."""
    refusal = sources.reversal_refusal(entry)
    if refusal is not None:
        raise refusal
    if not reason.strip():
        raise errors.ValidationFailed(
            "Say why the entry is reversed.", fields={"reason": "Required."}
        )
    entity = LegalEntity.objects.get(pk=entry.legal_entity_id)
    locked = entity.locked_through
    if locked and date <= locked:
        date = locked + dt.timedelta(days=1)
    with transaction.atomic():
        already = JournalEntry.objects.filter(reverses=entry).first()
        if already:
            return already
        # Mirror each line onto the very account it used, whatever the role mapping is today.
        pairs = [
            (
                ln.account_id,
                rules.Line(
                    role="",
                    debit=ln.credit,
                    credit=ln.debit,
                    amount_currency=-ln.amount_currency,
                    currency=ln.currency,
                    fx_rate=ln.fx_rate,
                    customer_id=ln.customer_id,
                    project_id=ln.project_id,
                    person_id=ln.person_id,
                    document=ln.document,
                    due_date=ln.due_date,
                    description=ln.description,
                ),
            )
            for ln in entry.lines.all()
        ]
        reversal = _new_entry(
            legal_entity=entity, date=date, event="reversal", source_type="journal_entry",
            source_id=str(entry.pk), currency=entry.currency, fx_rate=entry.fx_rate,
            reverses=entry, actor=actor, actor_label=actor_label,
            memo=f"Reversal of JE {entry.pk}: {reason}",
        )  # fmt: skip
        _write(reversal, pairs)
        audit_record(
            action="ledger.entry_reversed", obj=entry, actor=actor,
            actor_label=actor_label or ("" if actor else "system"), reason=reason,
            after={"reversal": reversal.pk, "date": date.isoformat()},
        )  # fmt: skip
    return reversal


# --- period close -----------------------------------------------------------------------------


def _lock_change(*, legal_entity: LegalEntity, actor: Any, field: str, value: dt.date | None):
    with transaction.atomic():
        entity = LegalEntity.objects.select_for_update().get(pk=legal_entity.pk)
        before = getattr(entity, field)
        if before == value:
            return entity
        setattr(entity, field, value)
        try:
            with transaction.atomic():
                entity.save(update_fields=[field])
        except IntegrityError as exc:
            raise errors.ValidationFailed(
                "The hard lock can never be lifted or moved back, and the soft lock can never "
                "be earlier than the hard lock.",
                fields={field: "Not allowed."},
                code="lock_refused",
            ) from exc
        audit_record(
            action=f"ledger.{field}_changed", obj=entity, actor=actor,
            before={field: before}, after={field: value},
        )  # fmt: skip
    legal_entity.refresh_from_db(fields=["soft_lock_date", "hard_lock_date"])
    return entity


def period_soft_lock(*, legal_entity: LegalEntity, through: dt.date, actor: Any) -> LegalEntity:
    """Finance closes the books through a date. Moving it back is lifting it: admins only."""
    require_role(actor, Role.FINANCE)
    current = legal_entity.soft_lock_date
    if current and through < current:
        require_role(actor, Role.ADMIN)
    if through >= clock.today():
        raise errors.ValidationFailed(
            "Only past days can be locked.", fields={"through": "Must be before today."}
        )
    return _lock_change(
        legal_entity=legal_entity, actor=actor, field="soft_lock_date", value=through
    )


def period_soft_unlock(*, legal_entity: LegalEntity, actor: Any) -> LegalEntity:
    """Admins lift the soft lock (the hard lock, if any, stays)."""
    require_role(actor, Role.ADMIN)
    value = legal_entity.hard_lock_date
    return _lock_change(legal_entity=legal_entity, actor=actor, field="soft_lock_date", value=value)


def period_hard_lock(*, legal_entity: LegalEntity, through: dt.date, actor: Any) -> LegalEntity:
    """Final: nothing can ever be posted on or before ``through`` again."""
    require_role(actor, Role.ADMIN)
    if legal_entity.soft_lock_date is None or through > legal_entity.soft_lock_date:
        raise errors.ValidationFailed(
            "Soft-lock the period first; the hard lock can only follow it.",
            fields={"through": "Must be on or before the soft lock date."},
        )
    return _lock_change(
        legal_entity=legal_entity, actor=actor, field="hard_lock_date", value=through
    )


# --- manual entries ---------------------------------------------------------------------------


def journal_manual_post(
    *,
    legal_entity: LegalEntity,
    date: dt.date,
    memo: str,
    lines: list[dict[str, Any]],
    actor: Any,
) -> JournalEntry:
    """Finance posts a balanced entry by hand: ``lines`` are ``{account (code), debit, credit,
    description?}`` in the entity's functional currency. The one kind of entry that can be
    reversed through ``journal_reverse``."""
    require_role(actor, Role.FINANCE)
    pairs = manual_lines(legal_entity=legal_entity, memo=memo, lines=lines, date=date)
    _require_open(legal_entity, date)
    currency = legal_entity.functional_currency
    with transaction.atomic():
        # A fresh id per posting: two identical manual entries are two entries (an API retry
        # is collapsed by the Idempotency-Key, not here).
        entry = _new_entry(
            legal_entity=legal_entity, date=date, event="manual", source_type=sources.MANUAL,
            source_id=uuid.uuid4().hex, currency=currency, fx_rate=Decimal(1), actor=actor,
            actor_label="", memo=memo.strip(),
        )  # fmt: skip
        _write(entry, pairs)
        audit_record(
            action="ledger.manual_entry_posted", obj=entry, actor=actor,
            after={"date": date.isoformat(), "memo": entry.memo,
                   "lines": [{"account_id": a, "debit": str(ln.debit), "credit": str(ln.credit)}
                             for a, ln in pairs]},
        )  # fmt: skip
    return entry


def fx_rate_set(
    *, currency: str, functional_currency: str, date: dt.date, rate: Decimal, actor: Any
) -> tuple[FxRate, bool]:
    """Set the rate of one day: functional units per one unit of ``currency``. Creates the
    day's row or changes it; returns it and whether it was created. Entries already posted
    keep the rate they were booked at (their lines store it)."""
    problems: dict[str, str] = {}
    for name, code in (("currency", currency), ("functional_currency", functional_currency)):
        try:
            currency_code(code)
        except DjangoValidationError as exc:
            problems[name] = exc.messages[0]
    if not problems and currency == functional_currency:
        problems["currency"] = "A rate is between two different currencies."
    if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
        problems["rate"] = "A rate is greater than zero."
    elif -rate.as_tuple().exponent > 10:  # type: ignore[operator]
        problems["rate"] = "At most 10 decimal places."
    if problems:
        raise errors.ValidationFailed("The rate cannot be set.", fields=problems)
    date_require(date, "date")
    with transaction.atomic():
        row, created = FxRate.objects.select_for_update().get_or_create(
            currency=currency, functional_currency=functional_currency, date=date,
            defaults={"rate": rate},
        )  # fmt: skip
        before = None if created else {"rate": str(row.rate)}
        if not created and row.rate != rate:
            row.rate = rate
            row.save(update_fields=["rate"])
        audit_record(action="fx_rate.set", obj=row, actor=actor, before=before,
                     after={"rate": str(rate)})  # fmt: skip
    return row, created

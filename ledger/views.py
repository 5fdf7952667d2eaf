"""Finance pages of the books: reports with drill-down, period close, chart, exports, outbox."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.apps import apps
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from ledger import exports, selectors, services, sources
from ledger.models import (
    Account,
    AccountRole,
    Integration,
    IntegrationMode,
    JournalEntry,
    LegalEntity,
    OutboxMessage,
    OutboxStatus,
)
from ledger.outbox import outbox_retry
from psa.kernel import clock, errors
from psa.kernel.dates import date_from_text
from psa.kernel.roles import Role, has_role, role_required

FINANCE = (Role.FINANCE,)


def _date(request: HttpRequest, name: str, default: dt.date) -> dt.date:
    raw = request.GET.get(name) or request.POST.get(name)
    return date_from_text(raw, name, default=default) or default


def _entity(code: str) -> LegalEntity:
    # Finance and admins see every legal entity of the firm.
    return get_object_or_404(LegalEntity, code=code)


def _labels(kind: str, ids: set[Any]) -> dict[Any, str]:
    """Names for dimension ids, looked up in the app that owns them (the ledger imports none)."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    model = {"customer": ("crm", "Customer"), "project": ("projects", "Project")}[kind]
    Model = apps.get_model(*model)
    return {obj.pk: str(obj) for obj in Model.objects.filter(pk__in=ids)}


def _ctx(entity: LegalEntity, tab: str, **extra: Any) -> dict[str, Any]:
    return {
        "entity": entity,
        "entities": LegalEntity.objects.order_by("name"),
        "tab": tab,
        "today": clock.today(),
        **extra,
    }


@role_required(*FINANCE)
def index(request: HttpRequest) -> HttpResponse:
    entity = LegalEntity.objects.order_by("name").first()
    if entity is None:
        raise errors.NotFound("No legal entity exists yet: an admin creates one first.")
    return redirect("ledger:trial_balance", code=entity.code)


@role_required(*FINANCE)
def trial_balance(request: HttpRequest, code: str) -> HttpResponse:
    entity = _entity(code)
    as_of = _date(request, "as_of", clock.today())
    rows = selectors.trial_balance(legal_entity=entity, as_of=as_of)
    totals = (sum(r.debit for r in rows), sum(r.credit for r in rows))
    return render(
        request,
        "ledger/trial_balance.html",
        _ctx(entity, "tb", rows=rows, as_of=as_of, total_debit=totals[0], total_credit=totals[1]),
    )


@role_required(*FINANCE)
def profit_and_loss(request: HttpRequest, code: str) -> HttpResponse:
    entity = _entity(code)
    today = clock.today()
    start = _date(request, "start", today.replace(month=1, day=1))
    end = _date(request, "end", today)
    by = "customer_id" if request.GET.get("by") == "customer" else "project_id"
    rows = selectors.profit_and_loss(legal_entity=entity, start=start, end=end, by=by)
    labels = _labels("customer" if by == "customer_id" else "project", {r["key"] for r in rows})
    for row in rows:
        row["label"] = labels.get(row["key"], "— not assigned —")
    return render(
        request,
        "ledger/profit_and_loss.html",
        _ctx(
            entity, "pnl", rows=rows, start=start, end=end, by=by,
            total_income=sum(r["income"] for r in rows),
            total_expense=sum(r["expense"] for r in rows),
            total_profit=sum(r["profit"] for r in rows),
        ),
    )  # fmt: skip


@role_required(*FINANCE)
def balance_sheet(request: HttpRequest, code: str) -> HttpResponse:
    entity = _entity(code)
    as_of = _date(request, "as_of", clock.today())
    sheet = selectors.balance_sheet(legal_entity=entity, as_of=as_of)
    return render(
        request, "ledger/balance_sheet.html", _ctx(entity, "bs", sheet=sheet, as_of=as_of)
    )


@role_required(*FINANCE)
def account_ledger(request: HttpRequest, code: str, account: str) -> HttpResponse:
    entity = _entity(code)
    acct = get_object_or_404(Account, legal_entity=entity, code=account)
    today = clock.today()
    start = _date(request, "start", today.replace(month=1, day=1))
    end = _date(request, "end", today)
    opening, lines = selectors.general_ledger(account=acct, start=start, end=end)
    running = opening
    rows = []
    for line in lines:
        running += line.debit - line.credit
        rows.append((line, running))
    return render(
        request,
        "ledger/account_ledger.html",
        _ctx(entity, "tb", account=acct, start=start, end=end, opening=opening, rows=rows,
             closing=running),
    )  # fmt: skip


@role_required(*FINANCE)
def entry_detail(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    entity = _entity(code)
    entry = get_object_or_404(
        JournalEntry.objects.select_related("posted_by", "reverses"), legal_entity=entity, pk=pk
    )
    lines = list(entry.lines.select_related("account").order_by("id"))
    customers = _labels("customer", {ln.customer_id for ln in lines})
    projects = _labels("project", {ln.project_id for ln in lines})
    for ln in lines:
        ln.customer_label = customers.get(ln.customer_id, "")
        ln.project_label = projects.get(ln.project_id, "")
    reversal = JournalEntry.objects.filter(reverses=entry).first()
    refusal = sources.reversal_refusal(entry)
    return render(
        request,
        "ledger/entry_detail.html",
        _ctx(entity, "tb", entry=entry, lines=lines, reversal=reversal,
             refusal=refusal.message if refusal else ""),
    )  # fmt: skip


MANUAL_ROWS = 4


def _manual_rows(post: Any, fields: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The form's line rows with what was typed and each input's error (rows stay in order)."""
    count = MANUAL_ROWS
    if post is not None:
        count = max(count, len(post.getlist("account")))
    values = {
        name: (post.getlist(name) if post is not None else []) + [""] * count
        for name in ("account", "debit", "credit", "description")
    }
    return [
        {
            "index": i,
            **{name: values[name][i] for name in values},
            "errors": {
                name: " ".join(fields.get(f"lines[{i}].{name}", []))
                for name in ("account", "debit", "credit")
            },
        }
        for i in range(count)
    ]


@role_required(*FINANCE)
def entry_new(request: HttpRequest, code: str) -> HttpResponse:
    """Finance posts a manual journal entry; errors show beside their inputs, input kept."""
    entity = _entity(code)
    error: errors.DomainError | None = None
    if request.method == "POST":
        post = request.POST
        lines = [
            {"account": a, "debit": d, "credit": c, "description": t}
            for a, d, c, t in zip(
                post.getlist("account"), post.getlist("debit"), post.getlist("credit"),
                post.getlist("description"), strict=False,
            )
        ]  # fmt: skip
        try:
            entry = services.journal_manual_post(
                legal_entity=entity, date=_date(request, "date", clock.today()),
                memo=post.get("memo", ""), lines=lines, actor=request.user,
            )  # fmt: skip
        except errors.ValidationFailed as exc:
            error = exc
        else:
            messages.success(request, f"Manual entry {entry.pk} posted.")
            return redirect("ledger:entry_detail", code=entity.code, pk=entry.pk)
    fields = error.fields if error else {}
    return render(
        request,
        "ledger/entry_new.html",
        _ctx(
            entity, "tb", error=error, fields=fields,
            rows=_manual_rows(request.POST if error else None, fields),
            accounts=entity.accounts.filter(is_active=True).order_by("code"),
            date=request.POST.get("date") or clock.today().isoformat(),
            memo=request.POST.get("memo", ""),
        ),
        status=400 if error else 200,
    )  # fmt: skip


@require_POST
@role_required(*FINANCE)
def entry_reverse(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    entity = _entity(code)
    entry = get_object_or_404(JournalEntry, legal_entity=entity, pk=pk)
    reversal = services.journal_reverse(
        entry=entry,
        date=_date(request, "date", clock.today()),
        reason=request.POST.get("reason", ""),
        actor=request.user,
    )
    messages.success(
        request, f"Entry {entry.pk} reversed by entry {reversal.pk} on {reversal.date}."
    )
    return redirect("ledger:entry_detail", code=entity.code, pk=reversal.pk)


@role_required(*FINANCE)
def ar_aging(request: HttpRequest, code: str) -> HttpResponse:
    entity = _entity(code)
    as_of = _date(request, "as_of", clock.today())
    rows = selectors.ar_aging(legal_entity=entity, as_of=as_of)
    labels = _labels("customer", {r["customer_id"] for r in rows})
    for row in rows:
        row["label"] = labels.get(row["customer_id"], "— no customer —")
    totals = {b: sum(r[b] for r in rows) for b in (*selectors.AGING_BUCKETS, "total")}
    return render(
        request,
        "ledger/ar_aging.html",
        _ctx(
            entity, "aging", rows=rows, as_of=as_of, buckets=selectors.AGING_BUCKETS,
            totals=totals, dso=selectors.dso(legal_entity=entity, as_of=as_of),
        ),
    )  # fmt: skip


@role_required(*FINANCE)
def unbilled_wip(request: HttpRequest, code: str) -> HttpResponse:
    entity = _entity(code)
    as_of = _date(request, "as_of", clock.today())
    rows = selectors.unbilled_wip(legal_entity=entity, as_of=as_of)
    labels = _labels("project", {r["project_id"] for r in rows})
    for row in rows:
        row["label"] = labels.get(row["project_id"], "— no project —")
    return render(
        request,
        "ledger/unbilled_wip.html",
        _ctx(entity, "wip", rows=rows, as_of=as_of, total=sum(r["amount"] for r in rows)),
    )


@role_required(*FINANCE)
def period_close(request: HttpRequest, code: str) -> HttpResponse:
    entity = _entity(code)
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "soft_lock":
            services.period_soft_lock(
                legal_entity=entity, through=_date(request, "through", entity.soft_lock_date),
                actor=request.user,
            )  # fmt: skip
            messages.success(request, "The books are locked through the chosen date.")
        elif action == "soft_unlock":
            services.period_soft_unlock(legal_entity=entity, actor=request.user)
            messages.success(request, "The soft lock is lifted.")
        elif action == "hard_lock":
            services.period_hard_lock(
                legal_entity=entity, through=_date(request, "through", entity.soft_lock_date),
                actor=request.user,
            )  # fmt: skip
            messages.success(request, "The period is closed for good.")
        else:
            raise errors.ValidationFailed("Unknown action.", fields={"action": "Unknown."})
        return redirect("ledger:period_close", code=entity.code)
    return render(
        request,
        "ledger/period_close.html",
        _ctx(entity, "close", is_admin=has_role(request.user, Role.ADMIN)),
    )


@role_required(*FINANCE)
def chart(request: HttpRequest, code: str) -> HttpResponse:
    entity = _entity(code)
    if request.method == "POST":
        account = get_object_or_404(Account, legal_entity=entity, pk=request.POST.get("account"))
        role = request.POST.get("role", "")
        if role not in AccountRole.values:
            raise errors.ValidationFailed("Unknown role.", fields={"role": "Unknown."})
        services.role_remap(legal_entity=entity, role=role, account=account, actor=request.user)
        messages.success(request, f"{AccountRole(role).label} now posts to {account}.")
        return redirect("ledger:chart", code=entity.code)
    accounts = list(entity.accounts.order_by("code"))
    mapping = dict(entity.role_mappings.values_list("role", "account_id"))
    roles = [(role, mapping.get(role.value)) for role in AccountRole]
    return render(
        request, "ledger/chart.html", _ctx(entity, "chart", accounts=accounts, roles=roles)
    )


@role_required(*FINANCE)
def export_download(request: HttpRequest, code: str) -> HttpResponse:
    entity = _entity(code)
    today = clock.today()
    fmt = request.GET.get("fmt", "")
    if fmt not in exports.FORMATS:
        return render(
            request,
            "ledger/exports.html",
            _ctx(entity, "exports", formats=exports.FORMATS, start=today.replace(day=1), end=today),
        )
    start = _date(request, "start", today.replace(day=1))
    end = _date(request, "end", today)
    if end < start:
        raise errors.ValidationFailed(
            "The period ends before it starts.", fields={"end": "Too early."}
        )
    content_type, extension = exports.FORMATS[fmt]
    body = exports.export(fmt, legal_entity=entity, start=start, end=end)
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    filename = f"{entity.code}-{start}-{end}-{fmt}.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@role_required(*FINANCE)
def integration(request: HttpRequest, code: str) -> HttpResponse:
    entity = _entity(code)
    if request.method == "POST":
        services.integration_update(
            legal_entity=entity, actor=request.user, mode=request.POST.get("mode", ""),
            endpoint_url=request.POST.get("endpoint_url", "").strip(),
            signing_secret=request.POST.get("signing_secret", ""),
        )  # fmt: skip
        messages.success(request, "Integration settings saved.")
        return redirect("ledger:integration", code=entity.code)
    settings_row, _ = Integration.objects.get_or_create(legal_entity=entity)
    status = request.GET.get("status", "")
    outbox = OutboxMessage.objects.filter(legal_entity=entity)
    if status:
        outbox = outbox.filter(status=status)
    return render(
        request,
        "ledger/integration.html",
        _ctx(
            entity, "integration", integration=settings_row, status=status,
            messages_list=outbox.order_by("-created_at")[:100], now=timezone.now(),
            modes=IntegrationMode.choices, statuses=OutboxStatus.choices,
        ),
    )  # fmt: skip


@require_POST
@role_required(*FINANCE)
def outbox_message_retry(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    entity = _entity(code)
    message = get_object_or_404(OutboxMessage, legal_entity=entity, pk=pk)
    outbox_retry(message=message, actor=request.user)
    messages.success(request, f"Message {message.idempotency_key} will be sent again now.")
    return redirect("ledger:integration", code=entity.code)

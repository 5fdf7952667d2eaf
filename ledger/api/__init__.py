"""REST API of the books: accounts, entries and reports (finance and admins).

Reads delegate to ledger.selectors, the same reads the pages use; the two writes (a manual
entry, a reversal) to ledger.services.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger import selectors, services
from ledger.api.fx import FxRateList
from ledger.models import Account, JournalEntry, JournalLine, LegalEntity
from psa.kernel import clock
from psa.kernel.api import DateField, ModelSerializer, QuerySerializer, Serializer, role_permission
from psa.kernel.api_auth import StrictPageSize
from psa.kernel.api_money import MoneyField
from psa.kernel.roles import Role

FinanceOnly = role_permission(Role.FINANCE)


class LegalEntitySerializer(ModelSerializer):
    class Meta:
        model = LegalEntity
        fields = ["code", "name", "legal_name", "country", "functional_currency",
                  "soft_lock_date", "hard_lock_date"]  # fmt: skip


class AccountSerializer(ModelSerializer):
    class Meta:
        model = Account
        fields = ["id", "code", "name", "type", "is_active"]


class LineSerializer(ModelSerializer):
    account = serializers.CharField(source="account.code")
    # Debit and credit in the functional currency (the view gives it), amount_currency in the
    # line's own.
    debit = MoneyField(currency="functional_currency", read_only=True)
    credit = MoneyField(currency="functional_currency", read_only=True)
    amount_currency = MoneyField(read_only=True)

    class Meta:
        model = JournalLine
        fields = ["account", "debit", "credit", "currency", "amount_currency", "fx_rate",
                  "customer_id", "project_id", "person_id", "document", "due_date",
                  "description"]  # fmt: skip


class EntrySerializer(ModelSerializer):
    lines = LineSerializer(many=True, read_only=True)

    class Meta:
        model = JournalEntry
        fields = ["id", "date", "event", "source_type", "source_id", "memo", "rule_version",
                  "currency", "fx_rate", "reverses", "posted_at", "lines"]  # fmt: skip


def _money(**kwargs: Any) -> serializers.DecimalField:
    """In the entity's functional currency: the views give it in the context."""
    return MoneyField(currency="functional_currency", **kwargs)


class TrialBalanceRowOut(Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    debit = _money()
    credit = _money()
    balance = _money()


class TrialBalanceOut(Serializer):
    legal_entity = serializers.CharField()
    currency = serializers.CharField()
    as_of = DateField()
    accounts = TrialBalanceRowOut(many=True)
    total_debit = _money()
    total_credit = _money()


class ProfitRowOut(Serializer):
    project = serializers.IntegerField(required=False, allow_null=True)
    customer = serializers.IntegerField(required=False, allow_null=True)
    income = _money()
    expense = _money()
    profit = _money()


class ProfitAndLossOut(Serializer):
    start = DateField()
    end = DateField()
    by = serializers.ChoiceField(choices=["project", "customer"])
    rows = ProfitRowOut(many=True)


class BalanceRowOut(Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    balance = _money()


class BalanceSheetOut(Serializer):
    as_of = DateField()
    assets = BalanceRowOut(many=True)
    liabilities = BalanceRowOut(many=True)
    equity = BalanceRowOut(many=True)
    result = _money()
    total_assets = _money()
    total_liabilities_and_equity = _money()


class AgingRowOut(Serializer):
    customer_id = serializers.IntegerField(allow_null=True)
    current = _money()
    days_1_30 = _money(source="1-30")
    days_31_60 = _money(source="31-60")
    days_61_90 = _money(source="61-90")
    days_90_plus = _money(source="90+")
    total = _money()


class ArAgingOut(Serializer):
    as_of = DateField()
    customers = AgingRowOut(many=True)
    dso_days = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)


class WipRowOut(Serializer):
    project_id = serializers.IntegerField(allow_null=True)
    amount = _money()


class UnbilledWipOut(Serializer):
    as_of = DateField()
    projects = WipRowOut(many=True)


class AsOfQuery(QuerySerializer):
    as_of = DateField(required=False)


class PeriodQuery(QuerySerializer):
    start = DateField(required=False)
    end = DateField(required=False)
    by = serializers.ChoiceField(choices=["project", "customer"], required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        today = clock.today()
        attrs.setdefault("start", today.replace(month=1, day=1))
        attrs.setdefault("end", today)
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": "The period ends before it starts."})
        return attrs


def _entity(code: str) -> LegalEntity:
    return get_object_or_404(LegalEntity, code=code)


def _as_of(request: Request) -> dt.date:
    query = AsOfQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    return query.validated_data.get("as_of") or clock.today()


def _out(
    serializer: type[serializers.Serializer], data: dict[str, Any], entity: LegalEntity
) -> Response:
    """Shape a report through its output serializer, so it always matches the schema; amounts
    show the decimals of the entity's functional currency."""
    return Response(serializer(data, context={"currency": entity.functional_currency}).data)


class EntityList(generics.ListAPIView):
    permission_classes = [FinanceOnly]
    api_area = "ledger"
    serializer_class = LegalEntitySerializer
    queryset = LegalEntity.objects.order_by("code")


class AccountList(generics.ListAPIView):
    permission_classes = [FinanceOnly]
    api_area = "ledger"
    serializer_class = AccountSerializer
    pagination_class = None

    def get_queryset(self):
        return Account.objects.filter(legal_entity=_entity(self.kwargs["code"])).order_by("code")


class EntryPagination(StrictPageSize, CursorPagination):
    ordering = ("-id",)
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


class ManualLineIn(Serializer):
    account = serializers.CharField(max_length=20, help_text="The account's code.")
    debit = _money(min_value=0, required=False, default=0)
    credit = _money(min_value=0, required=False, default=0)
    description = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )


class ManualEntryIn(Serializer):
    date = DateField(operational=True)
    memo = serializers.CharField(max_length=300)
    lines = ManualLineIn(many=True, allow_empty=False, max_length=200)


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATE, description="Entries dated on or after."),
            OpenApiParameter("until", OpenApiTypes.DATE, description="Entries dated on or before."),
        ]
    )
)
class EntryList(generics.ListAPIView):
    """Journal entries with their lines, newest first; ``since``/``until`` filter by date.

    POST posts a manual entry: balanced lines in the entity's functional currency, one side
    each. A 400 names the offending field (``lines[1].account``)."""

    permission_classes = [FinanceOnly]
    api_area = "ledger"
    serializer_class = EntrySerializer
    pagination_class = EntryPagination

    def get_queryset(self):
        query = PeriodQuery(
            data={"start": self.request.query_params.get("since", "1970-01-01"),
                  "end": self.request.query_params.get("until", "2100-12-31")}
        )  # fmt: skip
        query.is_valid(raise_exception=True)
        self.entity = _entity(self.kwargs["code"])
        return JournalEntry.objects.filter(
            legal_entity=self.entity,
            date__gte=query.validated_data["start"],
            date__lte=query.validated_data["end"],
        ).prefetch_related("lines__account")

    def get_serializer_context(self) -> dict[str, Any]:
        entity = getattr(self, "entity", None)
        currency = {"currency": entity.functional_currency} if entity else {}
        return {**super().get_serializer_context(), **currency}

    @extend_schema(request=ManualEntryIn, responses={201: EntrySerializer})
    def post(self, request: Request, code: str) -> Response:
        entity = _entity(code)
        data = ManualEntryIn(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.journal_manual_post(
            legal_entity=entity,
            date=data.validated_data["date"],
            memo=data.validated_data["memo"],
            lines=[dict(line) for line in data.validated_data["lines"]],
            actor=request.user,
        )
        context = {"currency": entity.functional_currency}
        return Response(EntrySerializer(entry, context=context).data, status=201)


class TrialBalance(APIView):
    permission_classes = [FinanceOnly]
    api_area = "ledger"

    @extend_schema(parameters=[OpenApiParameter("as_of", dt.date)], responses=TrialBalanceOut)
    def get(self, request: Request, code: str) -> Response:
        entity, as_of = _entity(code), _as_of(request)
        rows = selectors.trial_balance(legal_entity=entity, as_of=as_of)
        return _out(TrialBalanceOut, {
            "legal_entity": entity.code, "currency": entity.functional_currency,
            "as_of": as_of,
            "accounts": [{"code": r.code, "name": r.name, "type": r.type, "debit": r.debit,
                          "credit": r.credit, "balance": r.balance} for r in rows],
            "total_debit": sum(r.debit for r in rows),
            "total_credit": sum(r.credit for r in rows),
        }, entity)  # fmt: skip


class ProfitAndLoss(APIView):
    permission_classes = [FinanceOnly]
    api_area = "ledger"

    @extend_schema(
        parameters=[
            OpenApiParameter("start", dt.date),
            OpenApiParameter("end", dt.date),
            OpenApiParameter("by", str, enum=["project", "customer"]),
        ],
        responses=ProfitAndLossOut,
    )
    def get(self, request: Request, code: str) -> Response:
        query = PeriodQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        by = "customer_id" if q.get("by") == "customer" else "project_id"
        entity = _entity(code)
        rows = selectors.profit_and_loss(legal_entity=entity, start=q["start"], end=q["end"], by=by)
        name = by.removesuffix("_id")
        return _out(ProfitAndLossOut, {
            "start": q["start"], "end": q["end"], "by": name,
            "rows": [{name: r["key"], "income": r["income"], "expense": r["expense"],
                      "profit": r["profit"]} for r in rows],
        }, entity)  # fmt: skip


class BalanceSheet(APIView):
    permission_classes = [FinanceOnly]
    api_area = "ledger"

    @extend_schema(parameters=[OpenApiParameter("as_of", dt.date)], responses=BalanceSheetOut)
    def get(self, request: Request, code: str) -> Response:
        as_of = _as_of(request)
        entity = _entity(code)
        sheet = selectors.balance_sheet(legal_entity=entity, as_of=as_of)

        def rows(section: str) -> list[dict[str, Any]]:
            return [{"code": r.code, "name": r.name, "balance": r.balance} for r in sheet[section]]

        return _out(BalanceSheetOut, {
            "as_of": as_of, "assets": rows("assets"), "liabilities": rows("liabilities"),
            "equity": rows("equity"), "result": sheet["result"],
            "total_assets": sheet["total_assets"],
            "total_liabilities_and_equity": sheet["total_liabilities_and_equity"],
        }, entity)  # fmt: skip


class ArAging(APIView):
    permission_classes = [FinanceOnly]
    api_area = "ledger"

    @extend_schema(parameters=[OpenApiParameter("as_of", dt.date)], responses=ArAgingOut)
    def get(self, request: Request, code: str) -> Response:
        entity, as_of = _entity(code), _as_of(request)
        return _out(ArAgingOut, {
            "as_of": as_of,
            "customers": selectors.ar_aging(legal_entity=entity, as_of=as_of),
            "dso_days": selectors.dso(legal_entity=entity, as_of=as_of),
        }, entity)  # fmt: skip


class UnbilledWip(APIView):
    permission_classes = [FinanceOnly]
    api_area = "ledger"

    @extend_schema(parameters=[OpenApiParameter("as_of", dt.date)], responses=UnbilledWipOut)
    def get(self, request: Request, code: str) -> Response:
        as_of = _as_of(request)
        entity = _entity(code)
        rows = selectors.unbilled_wip(legal_entity=entity, as_of=as_of)
        return _out(UnbilledWipOut, {"as_of": as_of, "projects": rows}, entity)


class ReverseIn(Serializer):
    date = DateField(required=False)
    reason = serializers.CharField(max_length=200)


class EntryReverse(APIView):
    """Post the reversing entry of a manual journal entry (dated on the first open day if
    locked). An entry a business document posted is refused with 409 naming the document's
    own action (void the invoice, refund the payment, …)."""

    permission_classes = [FinanceOnly]
    api_area = "ledger"

    @extend_schema(request=ReverseIn, responses={201: EntrySerializer})
    def post(self, request: Request, code: str, pk: int) -> Response:
        entity = _entity(code)
        entry = get_object_or_404(JournalEntry, legal_entity=entity, pk=pk)
        data = ReverseIn(data=request.data)
        data.is_valid(raise_exception=True)
        reversal = services.journal_reverse(
            entry=entry,
            date=data.validated_data.get("date") or clock.today(),
            reason=data.validated_data["reason"],
            actor=request.user,
        )
        return Response(
            EntrySerializer(reversal, context={"currency": entity.functional_currency}).data,
            status=201,
        )


app_name = "ledger-api"
urlpatterns = [
    path("entities/", EntityList.as_view(), name="entities"),
    path("fx-rates/", FxRateList.as_view(), name="fx-rates"),
    path("<slug:code>/accounts/", AccountList.as_view(), name="accounts"),
    path("<slug:code>/entries/", EntryList.as_view(), name="entries"),
    path("<slug:code>/entries/<int:pk>/reverse/", EntryReverse.as_view(), name="entry_reverse"),
    path("<slug:code>/reports/trial-balance/", TrialBalance.as_view(), name="trial_balance"),
    path("<slug:code>/reports/profit-and-loss/", ProfitAndLoss.as_view(), name="profit_and_loss"),
    path("<slug:code>/reports/balance-sheet/", BalanceSheet.as_view(), name="balance_sheet"),
    path("<slug:code>/reports/ar-aging/", ArAging.as_view(), name="ar_aging"),
    path("<slug:code>/reports/unbilled-wip/", UnbilledWip.as_view(), name="unbilled_wip"),
]

"""Read-only REST API of the books: accounts, entries and reports (finance and admins).

Every view delegates to ledger.selectors, the same reads the pages use.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ledger import selectors
from ledger.models import Account, JournalEntry, JournalLine, LegalEntity
from psa.api import role_permission
from psa.roles import Role

FinanceOnly = role_permission(Role.FINANCE)


class LegalEntitySerializer(serializers.ModelSerializer):
    class Meta:
        model = LegalEntity
        fields = ["code", "name", "legal_name", "country", "functional_currency",
                  "soft_lock_date", "hard_lock_date"]  # fmt: skip


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["id", "code", "name", "type", "is_active"]


class LineSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.code")

    class Meta:
        model = JournalLine
        fields = ["account", "debit", "credit", "currency", "amount_currency", "fx_rate",
                  "customer_id", "project_id", "person_id", "document", "due_date",
                  "description"]  # fmt: skip


class EntrySerializer(serializers.ModelSerializer):
    lines = LineSerializer(many=True, read_only=True)

    class Meta:
        model = JournalEntry
        fields = ["id", "date", "event", "source_type", "source_id", "memo", "rule_version",
                  "currency", "fx_rate", "reverses", "posted_at", "lines"]  # fmt: skip


class AsOfQuery(serializers.Serializer):
    as_of = serializers.DateField(required=False)


class PeriodQuery(serializers.Serializer):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    by = serializers.ChoiceField(choices=["project", "customer"], required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        today = timezone.localdate()
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
    return query.validated_data.get("as_of") or timezone.localdate()


class EntityList(generics.ListAPIView):
    permission_classes = [FinanceOnly]
    serializer_class = LegalEntitySerializer
    queryset = LegalEntity.objects.order_by("code")


class AccountList(generics.ListAPIView):
    permission_classes = [FinanceOnly]
    serializer_class = AccountSerializer
    pagination_class = None

    def get_queryset(self):
        return Account.objects.filter(legal_entity=_entity(self.kwargs["code"])).order_by("code")


class EntryPagination(CursorPagination):
    ordering = ("-id",)
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 500


class EntryList(generics.ListAPIView):
    """Journal entries with their lines, newest first; ``since``/``until`` filter by date."""

    permission_classes = [FinanceOnly]
    serializer_class = EntrySerializer
    pagination_class = EntryPagination

    def get_queryset(self):
        query = PeriodQuery(
            data={"start": self.request.query_params.get("since", "2000-01-01"),
                  "end": self.request.query_params.get("until", "2999-12-31")}
        )  # fmt: skip
        query.is_valid(raise_exception=True)
        return JournalEntry.objects.filter(
            legal_entity=_entity(self.kwargs["code"]),
            date__gte=query.validated_data["start"],
            date__lte=query.validated_data["end"],
        ).prefetch_related("lines__account")


class TrialBalance(APIView):
    permission_classes = [FinanceOnly]

    @extend_schema(parameters=[OpenApiParameter("as_of", dt.date)])
    def get(self, request: Request, code: str) -> Response:
        entity, as_of = _entity(code), _as_of(request)
        rows = selectors.trial_balance(legal_entity=entity, as_of=as_of)
        return Response({
            "legal_entity": entity.code, "currency": entity.functional_currency,
            "as_of": as_of,
            "accounts": [{"code": r.code, "name": r.name, "type": r.type, "debit": r.debit,
                          "credit": r.credit, "balance": r.balance} for r in rows],
            "total_debit": sum(r.debit for r in rows),
            "total_credit": sum(r.credit for r in rows),
        })  # fmt: skip


class ProfitAndLoss(APIView):
    permission_classes = [FinanceOnly]

    @extend_schema(
        parameters=[
            OpenApiParameter("start", dt.date),
            OpenApiParameter("end", dt.date),
            OpenApiParameter("by", str, enum=["project", "customer"]),
        ]
    )
    def get(self, request: Request, code: str) -> Response:
        query = PeriodQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        by = "customer_id" if q.get("by") == "customer" else "project_id"
        rows = selectors.profit_and_loss(
            legal_entity=_entity(code), start=q["start"], end=q["end"], by=by
        )
        name = by.removesuffix("_id")
        return Response({
            "start": q["start"], "end": q["end"], "by": name,
            "rows": [{name: r["key"], "income": r["income"], "expense": r["expense"],
                      "profit": r["profit"]} for r in rows],
        })  # fmt: skip


class BalanceSheet(APIView):
    permission_classes = [FinanceOnly]

    @extend_schema(parameters=[OpenApiParameter("as_of", dt.date)])
    def get(self, request: Request, code: str) -> Response:
        as_of = _as_of(request)
        sheet = selectors.balance_sheet(legal_entity=_entity(code), as_of=as_of)

        def rows(section: str) -> list[dict[str, Any]]:
            return [{"code": r.code, "name": r.name, "balance": r.balance} for r in sheet[section]]

        return Response({
            "as_of": as_of, "assets": rows("assets"), "liabilities": rows("liabilities"),
            "equity": rows("equity"), "result": sheet["result"],
            "total_assets": sheet["total_assets"],
            "total_liabilities_and_equity": sheet["total_liabilities_and_equity"],
        })  # fmt: skip


class ArAging(APIView):
    permission_classes = [FinanceOnly]

    @extend_schema(parameters=[OpenApiParameter("as_of", dt.date)])
    def get(self, request: Request, code: str) -> Response:
        entity, as_of = _entity(code), _as_of(request)
        return Response({
            "as_of": as_of, "buckets": list(selectors.AGING_BUCKETS),
            "customers": selectors.ar_aging(legal_entity=entity, as_of=as_of),
            "dso_days": selectors.dso(legal_entity=entity, as_of=as_of),
        })  # fmt: skip


class UnbilledWip(APIView):
    permission_classes = [FinanceOnly]

    @extend_schema(parameters=[OpenApiParameter("as_of", dt.date)])
    def get(self, request: Request, code: str) -> Response:
        as_of = _as_of(request)
        rows = selectors.unbilled_wip(legal_entity=_entity(code), as_of=as_of)
        return Response({"as_of": as_of, "projects": rows})


app_name = "ledger-api"
urlpatterns = [
    path("entities/", EntityList.as_view(), name="entities"),
    path("<slug:code>/accounts/", AccountList.as_view(), name="accounts"),
    path("<slug:code>/entries/", EntryList.as_view(), name="entries"),
    path("<slug:code>/reports/trial-balance/", TrialBalance.as_view(), name="trial_balance"),
    path("<slug:code>/reports/profit-and-loss/", ProfitAndLoss.as_view(), name="profit_and_loss"),
    path("<slug:code>/reports/balance-sheet/", BalanceSheet.as_view(), name="balance_sheet"),
    path("<slug:code>/reports/ar-aging/", ArAging.as_view(), name="ar_aging"),
    path("<slug:code>/reports/unbilled-wip/", UnbilledWip.as_view(), name="unbilled_wip"),
]

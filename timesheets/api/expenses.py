"""Expenses with their receipts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, parsers, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from psa.kernel import errors
from psa.kernel.api import (
    FILTER_BACKENDS,
    DateField,
    DateFilter,
    ETagDetailView,
    ModelSerializer,
    Serializer,
    UpdatedSinceFilterSet,
)
from psa.kernel.api_money import MoneyField
from timesheets import selectors, services
from timesheets.api.common import Readers, project_for_time_by_code
from timesheets.models import Expense, ExpenseCategory


class ExpenseSerializer(ModelSerializer):
    person = serializers.EmailField(source="person.email", read_only=True)
    project = serializers.CharField(source="project.code", read_only=True)
    has_receipt = serializers.SerializerMethodField()
    amount = MoneyField(read_only=True)

    class Meta:
        model = Expense
        fields = ["id", "person", "project", "date", "amount", "currency", "category",
                  "description", "billable", "markup_percent", "has_receipt", "status",
                  "created_at", "updated_at"]  # fmt: skip
        read_only_fields = fields

    def get_has_receipt(self, expense: Expense) -> bool:
        return bool(expense.receipt)


class OptionalBoolean(serializers.BooleanField):
    """Left out of a multipart form means "not given", not False (DRF's HTML default)."""

    default_empty_html = serializers.empty


class ExpenseChangeIn(Serializer):
    date = DateField(operational=True, required=False)
    amount = MoneyField(max_digits=13, min_value=Decimal("0.001"), required=False)
    currency = serializers.CharField(max_length=3, min_length=3, required=False)
    category = serializers.ChoiceField(choices=ExpenseCategory.choices, required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    billable = OptionalBoolean(required=False)
    markup_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False
    )


class ExpenseCreateIn(ExpenseChangeIn):
    project = serializers.SlugField(max_length=30, help_text="The project's code.")
    date = DateField(operational=True)
    amount = MoneyField(max_digits=13, min_value=Decimal("0.001"))
    currency = serializers.CharField(
        max_length=3, min_length=3, required=False, help_text="Default: the project's."
    )
    category = serializers.ChoiceField(choices=ExpenseCategory.choices)
    receipt = serializers.FileField(
        required=False, help_text="PDF, JPEG or PNG, at most 10 MB (checked by content)."
    )


class ExpenseFilter(UpdatedSinceFilterSet):
    person = django_filters.CharFilter(field_name="person__email", lookup_expr="iexact")
    project = django_filters.CharFilter(field_name="project__code")
    customer = django_filters.NumberFilter(field_name="project__customer_id")
    date_after = DateFilter("date", lookup_expr="gte")
    date_before = DateFilter("date", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(fields=("date", "amount", "updated_at", "id"))

    class Meta:
        model = Expense
        fields = ["status", "category", "billable"]


class ExpenseListCreate(generics.ListAPIView):
    """Expenses you may see; add your own with a receipt (multipart/form-data)."""

    permission_classes = [Readers]
    serializer_class = ExpenseSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = ExpenseFilter
    parser_classes = [parsers.MultiPartParser, parsers.FormParser, parsers.JSONParser]
    api_area = "timesheets"

    def get_queryset(self):
        return (
            selectors.expense_visible_to(self.request.user)
            .select_related("person", "project")
            .order_by("-date", "-id")
        )

    # Documented as multipart only (a receipt is a file part); JSON without a receipt is
    # still accepted for older clients.
    @extend_schema(
        request={"multipart/form-data": ExpenseCreateIn}, responses={201: ExpenseSerializer}
    )
    def post(self, request: Request) -> Response:
        data = ExpenseCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        project = project_for_time_by_code(request.user, v.pop("project"))
        v.setdefault("currency", project.currency)
        expense = services.expense_create(
            actor=request.user, person=request.user, project=project, **v
        )
        return Response(ExpenseSerializer(expense).data, status=status.HTTP_201_CREATED)


class ExpenseDetail(ETagDetailView):
    permission_classes = [Readers]
    serializer_class = ExpenseSerializer
    change_serializer = ExpenseChangeIn
    api_area = "timesheets"

    def fetch(self, request: Request, **kwargs: Any) -> Expense:
        expense = (
            selectors.expense_visible_to(request.user)
            .select_related("person", "project")
            .filter(pk=kwargs["pk"])
            .first()
        )
        if expense is None:
            raise errors.NotFound("No such expense.")
        return expense

    def change(self, obj: Expense, *, actor: Any, expected_etag: str | None, data: dict) -> Expense:
        return services.expense_update(
            actor=actor, expense=obj, expected_etag=expected_etag, **data
        )

"""REST API of dunning levels per legal entity (reminders N days from the due date, optional
late fee per currency): list, create, change, delete. Finance and admins; token area
"billing". Writes go through billing.services.dunning, as on the dunning page."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from billing.api.runs import BillingApi
from billing.models import DunningLevel
from billing.services import dunning
from ledger.models import LegalEntity
from psa.kernel import errors
from psa.kernel.api import (
    FILTER_BACKENDS,
    BooleanFilter,
    ETagDetailView,
    FilterSet,
    ModelSerializer,
    Serializer,
    SlugRelated,
)

FEES_HELP = (
    "Late fee per ISO 4217 currency, in its minor unit (the minimum when late_fee_percent is "
    "set); null removes that currency's fee, currencies not named keep theirs."
)


class DunningLevelSerializer(ModelSerializer):
    legal_entity = serializers.SlugRelatedField(slug_field="code", read_only=True)
    late_fees = serializers.SerializerMethodField()

    class Meta:
        model = DunningLevel
        fields = ["id", "legal_entity", "name", "days_from_due", "subject", "body",
                  "late_fee_percent", "late_fees", "is_active", "updated_at"]  # fmt: skip

    def get_late_fees(self, obj: DunningLevel) -> dict[str, str]:
        return {fee.currency: str(fee.amount) for fee in obj.fees.all()}


class _LevelFields(Serializer):
    name = serializers.CharField(max_length=60)
    days_from_due = serializers.IntegerField(
        min_value=-366, max_value=366, help_text="Days after the due date (negative: before)."
    )
    subject = serializers.CharField(max_length=200, help_text="A Django template.")
    body = serializers.CharField(max_length=20000, help_text="A Django template.")
    late_fee_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, required=False
    )
    late_fees = serializers.DictField(
        child=serializers.DecimalField(max_digits=15, decimal_places=3, min_value=0,
                                       allow_null=True),
        required=False, help_text=FEES_HELP,
    )  # fmt: skip
    is_active = serializers.BooleanField(required=False)


class DunningLevelIn(_LevelFields):
    legal_entity = SlugRelated(slug_field="code", queryset=LegalEntity.objects.all())


class DunningLevelChangeIn(_LevelFields):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class DunningLevelFilter(FilterSet):
    legal_entity = django_filters.CharFilter(field_name="legal_entity__code")
    is_active = BooleanFilter()
    ordering = django_filters.OrderingFilter(fields=("days_from_due", "name", "id"))

    class Meta:
        model = DunningLevel
        fields: list[str] = []


def _levels():  # type: ignore[no-untyped-def]
    return DunningLevel.objects.select_related("legal_entity").prefetch_related("fees")


class DunningLevelList(BillingApi, generics.ListAPIView):
    """Dunning levels of every legal entity, by entity and day; POST adds one."""

    serializer_class = DunningLevelSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = DunningLevelFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return _levels().order_by("legal_entity__code", "days_from_due", "id")

    @extend_schema(request=DunningLevelIn, responses={201: DunningLevelSerializer})
    def post(self, request: Request) -> Response:
        body = DunningLevelIn(data=request.data)
        body.is_valid(raise_exception=True)
        level = dunning.dunning_level_save(actor=request.user, **body.validated_data)
        level = _levels().get(pk=level.pk)
        return Response(DunningLevelSerializer(level).data, status=status.HTTP_201_CREATED)


class DunningLevelDetail(BillingApi, ETagDetailView):
    """One dunning level; PATCH changes it (fields not sent keep their values), DELETE removes
    one no reminder was sent for (409 otherwise: deactivate it)."""

    serializer_class = DunningLevelSerializer
    change_serializer = DunningLevelChangeIn

    def fetch(self, request: Request, **kwargs: Any) -> DunningLevel:
        level = _levels().filter(pk=kwargs["pk"]).first()
        if level is None:
            raise errors.NotFound("No such dunning level.")
        return level

    def change(
        self, obj: DunningLevel, *, actor: Any, expected_etag: str | None, data: dict
    ) -> Any:
        current = {"name": obj.name, "days_from_due": obj.days_from_due, "subject": obj.subject,
                   "body": obj.body, "late_fee_percent": obj.late_fee_percent,
                   "is_active": obj.is_active}  # fmt: skip
        return dunning.dunning_level_save(
            legal_entity=obj.legal_entity, actor=actor, level=obj, expected_etag=expected_etag,
            **{**current, **data},
        )  # fmt: skip

    @extend_schema(responses={204: None})
    def delete(self, request: Request, **kwargs: Any) -> Response:
        dunning.dunning_level_delete(level=self.fetch(request, **kwargs), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

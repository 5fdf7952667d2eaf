"""REST API of outbound webhooks: subscriptions, the event catalogue, the delivery log."""

from __future__ import annotations

from typing import Any

import django_filters
from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from psa.kernel.api import (
    FILTER_BACKENDS,
    BooleanFilter,
    DateTimeFilter,
    ETagDetailView,
    FilterSet,
    ModelSerializer,
    Serializer,
    UpdatedSinceFilterSet,
    if_match_schema,
)
from psa.kernel.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from psa.kernel.webhooks import (
    EVENTS,
    webhook_redeliver,
    webhook_subscribe,
    webhook_subscription_update,
    webhook_unsubscribe,
)


class SubscriptionSerializer(ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = ["id", "url", "events", "description", "is_active", "created_at", "updated_at"]


class SubscriptionCreated(SubscriptionSerializer):
    class Meta(SubscriptionSerializer.Meta):
        fields = [*SubscriptionSerializer.Meta.fields, "secret"]


class SubscribeIn(Serializer):
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(EVENTS)), min_length=1
    )
    description = serializers.CharField(max_length=200, required=False, default="")


class SubscriptionUpdateIn(Serializer):
    url = serializers.URLField(max_length=500, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(EVENTS)), min_length=1, required=False
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class SubscriptionFilter(UpdatedSinceFilterSet):
    is_active = BooleanFilter()
    ordering = django_filters.OrderingFilter(fields=("created_at", "updated_at", "id"))

    class Meta:
        model = WebhookSubscription
        fields = ["is_active"]


class AttemptSerializer(ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["at", "status_code", "error", "duration_ms"]


class DeliverySerializer(ModelSerializer):
    log = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event_id", "topic", "status", "attempts", "next_attempt_at",
                  "last_error", "created_at", "delivered_at", "payload", "log"]  # fmt: skip


class EventSerializer(Serializer):
    type = serializers.CharField()
    description = serializers.CharField()


class WebhookApi:
    api_area = "webhooks"


class SubscriptionListCreate(WebhookApi, generics.ListAPIView):
    serializer_class = SubscriptionSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = SubscriptionFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookSubscription.objects.none()
        return WebhookSubscription.objects.filter(owner=self.request.user).order_by("-id")

    @extend_schema(request=SubscribeIn, responses={201: SubscriptionCreated})
    def post(self, request: Request) -> Response:
        data = SubscribeIn(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = webhook_subscribe(owner=request.user, **data.validated_data)
        return Response(SubscriptionCreated(subscription).data, status=status.HTTP_201_CREATED)


class SubscriptionDetail(WebhookApi, ETagDetailView):
    serializer_class = SubscriptionSerializer
    change_serializer = SubscriptionUpdateIn

    def get_queryset(self):
        return WebhookSubscription.objects.filter(owner=self.request.user)

    def fetch(self, request: Request, **kwargs: Any) -> WebhookSubscription:
        return self.get_object()

    def change(
        self, obj: WebhookSubscription, *, actor: Any, expected_etag: str | None, data: dict
    ) -> WebhookSubscription:
        return webhook_subscription_update(
            subscription=obj, actor=actor, expected_etag=expected_etag, **data
        )

    @if_match_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        webhook_unsubscribe(
            subscription=self.get_object(), actor=request.user, expected_etag=self.expected_etag
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryFilter(FilterSet):
    created_after = DateTimeFilter("created_at", lookup_expr="gte")
    ordering = django_filters.OrderingFilter(fields=("created_at", "id"))

    class Meta:
        model = WebhookDelivery
        fields = ["status", "topic"]


class DeliveryList(WebhookApi, generics.ListAPIView):
    serializer_class = DeliverySerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = DeliveryFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        subscription = get_object_or_404(
            WebhookSubscription, owner=self.request.user, pk=self.kwargs["pk"]
        )
        return subscription.deliveries.prefetch_related("log").order_by("-id")


class Redeliver(WebhookApi, APIView):
    @extend_schema(request=None, responses={202: DeliverySerializer})
    def post(self, request: Request, pk: int) -> Response:
        row = get_object_or_404(
            WebhookDelivery.objects.select_related("subscription"),
            subscription__owner=request.user,
            pk=pk,
        )
        retried = webhook_redeliver(row=row, actor=request.user)
        return Response(DeliverySerializer(retried).data, status=status.HTTP_202_ACCEPTED)


class EventList(WebhookApi, APIView):
    @extend_schema(responses=EventSerializer(many=True))
    def get(self, request: Request) -> Response:
        rows = [{"type": name, "description": text} for name, (text, _) in EVENTS.items()]
        return Response(EventSerializer(rows, many=True).data)


app_name = "webhooks-api"
urlpatterns = [
    path("", SubscriptionListCreate.as_view(), name="subscriptions"),
    path("events/", EventList.as_view(), name="events"),
    path("<int:pk>/", SubscriptionDetail.as_view(), name="subscription"),
    path("<int:pk>/deliveries/", DeliveryList.as_view(), name="deliveries"),
    path("deliveries/<int:pk>/redeliver/", Redeliver.as_view(), name="redeliver"),
]

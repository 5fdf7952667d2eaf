"""Customers and their contacts."""

from __future__ import annotations

from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from crm import selectors, services
from crm.api._common import Sales, people
from crm.models import (
    Contact,
    Customer,
    TaxTreatment,
)
from ledger.models import LegalEntity
from psa.kernel.api import (
    FILTER_BACKENDS,
    ETagDetailView,
    ModelSerializer,
    Serializer,
    SlugRelated,
    UpdatedSinceFilterSet,
)

# --- customers ----------------------------------------------------------------------------


class CustomerSerializer(ModelSerializer):
    legal_entity = serializers.CharField(source="legal_entity.code", read_only=True)
    # May be empty, so not declared as format "email" in the schema.
    billing_email = serializers.CharField(read_only=True)
    account_manager = serializers.EmailField(
        source="account_manager.email", default=None, allow_null=True, read_only=True
    )

    class Meta:
        model = Customer
        fields = ["id", "legal_entity", "name", "legal_name", "billing_address", "country",
                  "currency", "payment_terms_days", "tax_id", "tax_treatment", "billing_email",
                  "account_manager", "is_active", "created_at", "updated_at"]  # fmt: skip


class CustomerChangeIn(Serializer):
    """The fields of a customer a PATCH may change (all optional)."""

    name = serializers.CharField(max_length=200, required=False)
    legal_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    billing_address = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, min_length=2, required=False)
    currency = serializers.CharField(max_length=3, min_length=3, required=False)
    payment_terms_days = serializers.IntegerField(min_value=0, max_value=365, required=False)
    tax_id = serializers.CharField(max_length=50, required=False, allow_blank=True)
    tax_treatment = serializers.ChoiceField(choices=TaxTreatment.choices, required=False)
    billing_email = serializers.EmailField(required=False, allow_blank=True)
    account_manager = SlugRelated(
        slug_field="email", queryset=people(), required=False, allow_null=True
    )
    is_active = serializers.BooleanField(required=False)


class CustomerCreateIn(CustomerChangeIn):
    legal_entity = SlugRelated(slug_field="code", queryset=LegalEntity.objects.all())
    name = serializers.CharField(max_length=200)
    country = serializers.CharField(max_length=2, min_length=2)
    currency = serializers.CharField(max_length=3, min_length=3)


class CustomerFilter(UpdatedSinceFilterSet):
    legal_entity = django_filters.CharFilter(field_name="legal_entity__code")
    name = django_filters.CharFilter(lookup_expr="icontains")
    ordering = django_filters.OrderingFilter(fields=("name", "created_at", "updated_at", "id"))

    class Meta:
        model = Customer
        fields = ["is_active", "country", "currency"]


class CustomerListCreate(generics.ListAPIView):
    """Customers you may see (finance: all; managers: theirs); managers and finance add."""

    permission_classes = [Sales]
    serializer_class = CustomerSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = CustomerFilter
    api_area = "crm"

    def get_queryset(self):
        return selectors.customer_list_visible_to(self.request.user).order_by("name", "id")

    @extend_schema(request=CustomerCreateIn, responses={201: CustomerSerializer})
    def post(self, request: Request) -> Response:
        data = CustomerCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        customer = services.customer_create(actor=request.user, **data.validated_data)
        return Response(CustomerSerializer(customer).data, status=status.HTTP_201_CREATED)


class CustomerDetail(ETagDetailView):
    permission_classes = [Sales]
    serializer_class = CustomerSerializer
    change_serializer = CustomerChangeIn
    api_area = "crm"

    def fetch(self, request: Request, **kwargs: Any) -> Customer:
        return selectors.customer_get_for_user(request.user, kwargs["pk"])

    def change(self, obj: Customer, *, actor: Any, expected_etag: str | None, data: dict) -> Any:
        return services.customer_update(
            customer=obj, actor=actor, expected_etag=expected_etag, **data
        )


# --- contacts -----------------------------------------------------------------------------


class ContactSerializer(ModelSerializer):
    email = serializers.CharField(read_only=True)  # may be empty: not format "email"

    class Meta:
        model = Contact
        fields = ["id", "customer", "name", "email", "phone", "title", "is_billing_contact",
                  "updated_at"]  # fmt: skip
        read_only_fields = fields


class ContactChangeIn(Serializer):
    name = serializers.CharField(max_length=200, required=False)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True)
    title = serializers.CharField(max_length=100, required=False, allow_blank=True)
    is_billing_contact = serializers.BooleanField(required=False)


class ContactCreateIn(ContactChangeIn):
    customer = serializers.IntegerField(min_value=1)
    name = serializers.CharField(max_length=200)


class ContactFilter(UpdatedSinceFilterSet):
    # An id, not a choice: a customer you cannot see (or that does not exist) lists nothing.
    customer = django_filters.NumberFilter(field_name="customer_id")
    ordering = django_filters.OrderingFilter(fields=("name", "updated_at", "id"))

    class Meta:
        model = Contact
        fields = ["is_billing_contact"]


class ContactListCreate(generics.ListAPIView):
    """Contacts of the customers you may see."""

    permission_classes = [Sales]
    serializer_class = ContactSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = ContactFilter
    api_area = "crm"

    def get_queryset(self):
        visible = selectors.customer_list_visible_to(self.request.user).values("pk")
        return Contact.objects.filter(customer__in=visible).order_by("name", "id")

    @extend_schema(request=ContactCreateIn, responses={201: ContactSerializer})
    def post(self, request: Request) -> Response:
        data = ContactCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        customer = selectors.customer_get_for_user(request.user, fields.pop("customer"))
        contact = services.contact_create(actor=request.user, customer=customer, **fields)
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


class ContactDetail(ETagDetailView):
    permission_classes = [Sales]
    serializer_class = ContactSerializer
    change_serializer = ContactChangeIn
    api_area = "crm"

    def fetch(self, request: Request, **kwargs: Any) -> Contact:
        return selectors.contact_get_for_user(request.user, kwargs["pk"])

    def change(self, obj: Contact, *, actor: Any, expected_etag: str | None, data: dict) -> Any:
        return services.contact_update(
            contact=obj, actor=actor, expected_etag=expected_etag, **data
        )

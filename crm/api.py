"""REST API of the crm app: leads in and out (managers, finance and admins; CRM sync).

One view per operation; each delegates to crm.services / crm.selectors, the same code the
pages use, so the duplicate rules and the owner's notification are identical.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from crm import selectors, services
from crm.models import (
    Contact,
    Customer,
    Lead,
    LeadSource,
    Opportunity,
    OpportunityStage,
    TaxTreatment,
)
from ledger.models import LegalEntity
from projects.models import ProjectTemplate
from psa.kernel.api import (
    FILTER_BACKENDS,
    ETagMixin,
    SlugRelated,
    UpdatedSinceFilterSet,
    UtcDateTimeFilter,
    etag_detail_schema,
    if_match_schema,
    role_permission,
)
from psa.kernel.roles import Role

Sales = role_permission(Role.PROJECT_MANAGER, Role.FINANCE)


class LeadSerializer(serializers.ModelSerializer):
    legal_entity = serializers.CharField(source="legal_entity.code")
    owner = serializers.EmailField(source="owner.email", default=None, allow_null=True)

    class Meta:
        model = Lead
        fields = ["id", "legal_entity", "name", "company", "email", "phone", "website",
                  "domain", "message", "source", "status", "disqualify_reason", "owner",
                  "customer_id", "contact_id", "submissions", "created_at",
                  "updated_at"]  # fmt: skip


class LeadCreateSerializer(serializers.Serializer):
    legal_entity = SlugRelated(slug_field="code", queryset=LegalEntity.objects.all())
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField(max_length=254)
    company = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    phone = serializers.CharField(max_length=50, required=False, default="", allow_blank=True)
    website = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    message = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)


class LeadCreateResult(serializers.Serializer):
    created = serializers.BooleanField()
    matched = serializers.CharField()
    lead = LeadSerializer()


class LeadFilter(UpdatedSinceFilterSet):
    created_after = UtcDateTimeFilter("created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter("created_at", lookup_expr="lt")
    customer = django_filters.NumberFilter(field_name="customer_id")
    owner = django_filters.CharFilter(field_name="owner__email", lookup_expr="iexact")
    ordering = django_filters.OrderingFilter(fields=("created_at", "updated_at", "name", "id"))

    class Meta:
        model = Lead
        fields = ["status", "source"]


class LeadListCreate(generics.ListAPIView):
    permission_classes = [Sales]
    serializer_class = LeadSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = LeadFilter
    api_area = "crm"

    @property
    def api_scopes(self) -> tuple[str, ...] | None:
        # A website's token holds only "leads:create": it may post leads, never read them.
        if self.request.method == "POST":
            return ("crm:write", "leads:create")
        return None

    def get_queryset(self):
        return selectors.lead_list_visible_to(self.request.user).order_by("-created_at", "-id")

    @extend_schema(
        request=LeadCreateSerializer, responses={201: LeadCreateResult, 200: LeadCreateResult}
    )
    def post(self, request: Request) -> Response:
        """Create a lead; a repeat of an open lead's e-mail attaches to it (200, created=false)."""
        data = LeadCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        intake = services.lead_create(
            source=LeadSource.API, actor=request.user, owner=request.user, **data.validated_data
        )
        body = {"created": intake.created, "matched": intake.matched, "lead": intake.lead}
        code = status.HTTP_201_CREATED if intake.created else status.HTTP_200_OK
        return Response(LeadCreateResult(body).data, status=code)


class LeadDetail(generics.GenericAPIView):
    permission_classes = [Sales]
    serializer_class = LeadSerializer
    api_area = "crm"

    def get(self, request: Request, pk: int) -> Response:
        return Response(LeadSerializer(selectors.lead_get_for_user(request.user, pk)).data)


class ReasonIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class LeadAction(generics.GenericAPIView):
    """Base of the lead transitions: qualify, convert (customer + contact), disqualify."""

    permission_classes = [Sales]
    serializer_class = LeadSerializer
    api_area = "crm"

    def act(self, lead: Lead, data: dict[str, Any]) -> Lead:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        lead = self.act(selectors.lead_get_for_user(request.user, pk), request.data)
        return Response(LeadSerializer(lead).data)


@extend_schema(request=None, responses=LeadSerializer)
class LeadQualify(LeadAction):
    def act(self, lead: Lead, data: Any) -> Lead:
        return services.lead_qualify(lead=lead, actor=self.request.user)


@extend_schema(request=None, responses=LeadSerializer)
class LeadConvert(LeadAction):
    def act(self, lead: Lead, data: Any) -> Lead:
        return services.lead_convert(lead=lead, actor=self.request.user)


@extend_schema(request=ReasonIn, responses=LeadSerializer)
class LeadDisqualify(LeadAction):
    def act(self, lead: Lead, data: Any) -> Lead:
        body = ReasonIn(data=data)
        body.is_valid(raise_exception=True)
        return services.lead_disqualify(
            lead=lead, actor=self.request.user, reason=body.validated_data["reason"]
        )


# --- customers ----------------------------------------------------------------------------

User = get_user_model()


def _people() -> Any:
    return User.objects.filter(is_active=True)


class CustomerSerializer(serializers.ModelSerializer):
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


class CustomerChangeIn(serializers.Serializer):
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
        slug_field="email", queryset=_people(), required=False, allow_null=True
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


class CustomerDetail(ETagMixin, generics.GenericAPIView):
    permission_classes = [Sales]
    serializer_class = CustomerSerializer
    api_area = "crm"

    @etag_detail_schema(responses=CustomerSerializer)
    def get(self, request: Request, pk: int) -> Response:
        customer = selectors.customer_get_for_user(request.user, pk)
        return self.with_etag(Response(CustomerSerializer(customer).data), customer)

    @if_match_schema(request=CustomerChangeIn, responses=CustomerSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        data = CustomerChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            customer = self.locked(selectors.customer_get_for_user(request.user, pk))
            customer = services.customer_update(
                customer=customer, actor=request.user, **data.validated_data
            )
        customer = selectors.customer_get_for_user(request.user, pk)
        return self.with_etag(Response(CustomerSerializer(customer).data), customer)


# --- contacts -----------------------------------------------------------------------------


class ContactSerializer(serializers.ModelSerializer):
    email = serializers.CharField(read_only=True)  # may be empty: not format "email"

    class Meta:
        model = Contact
        fields = ["id", "customer", "name", "email", "phone", "title", "is_billing_contact",
                  "updated_at"]  # fmt: skip
        read_only_fields = fields


class ContactChangeIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True)
    title = serializers.CharField(max_length=100, required=False, allow_blank=True)
    is_billing_contact = serializers.BooleanField(required=False)


class ContactCreateIn(ContactChangeIn):
    customer = serializers.IntegerField(min_value=1)
    name = serializers.CharField(max_length=200)


class ContactFilter(UpdatedSinceFilterSet):
    ordering = django_filters.OrderingFilter(fields=("name", "updated_at", "id"))

    class Meta:
        model = Contact
        fields = ["customer", "is_billing_contact"]


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


class ContactDetail(ETagMixin, generics.GenericAPIView):
    permission_classes = [Sales]
    serializer_class = ContactSerializer
    api_area = "crm"

    @etag_detail_schema(responses=ContactSerializer)
    def get(self, request: Request, pk: int) -> Response:
        contact = selectors.contact_get_for_user(request.user, pk)
        return self.with_etag(Response(ContactSerializer(contact).data), contact)

    @if_match_schema(request=ContactChangeIn, responses=ContactSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        data = ContactChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            contact = self.locked(selectors.contact_get_for_user(request.user, pk))
            contact = services.contact_update(
                contact=contact, actor=request.user, **data.validated_data
            )
        return self.with_etag(Response(ContactSerializer(contact).data), contact)


# --- opportunities ------------------------------------------------------------------------


class OpportunitySerializer(serializers.ModelSerializer):
    legal_entity = serializers.CharField(source="legal_entity.code", read_only=True)
    owner = serializers.EmailField(source="owner.email", default=None, allow_null=True)
    project = serializers.CharField(source="project.code", default=None, allow_null=True)
    project_template = serializers.CharField(
        source="project_template.code", default=None, allow_null=True
    )

    class Meta:
        model = Opportunity
        fields = ["id", "legal_entity", "customer", "lead", "name", "stage", "value", "currency",
                  "probability", "expected_close", "owner", "lost_reason", "project_template",
                  "project", "won_at", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = fields


# Named OpenStageEnum in the schema (settings ENUM_NAME_OVERRIDES).
OPEN_STAGES = [(s.value, s.label) for s in OpportunityStage if s.value not in ("won", "lost")]


class OpportunityChangeIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    stage = serializers.ChoiceField(choices=OPEN_STAGES, required=False)
    value = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    currency = serializers.CharField(max_length=3, min_length=3, required=False)
    probability = serializers.IntegerField(min_value=0, max_value=100, required=False)
    expected_close = serializers.DateField(required=False, allow_null=True)
    owner = SlugRelated(slug_field="email", queryset=_people(), required=False, allow_null=True)
    project_template = SlugRelated(
        slug_field="code",
        queryset=ProjectTemplate.objects.filter(active=True),
        required=False,
        allow_null=True,
    )


class OpportunityCreateIn(OpportunityChangeIn):
    name = serializers.CharField(max_length=200)
    customer = serializers.IntegerField(min_value=1, required=False)
    lead = serializers.IntegerField(min_value=1, required=False)


class OpportunityWinIn(serializers.Serializer):
    template = SlugRelated(
        slug_field="code",
        queryset=ProjectTemplate.objects.filter(active=True),
        required=False,
        allow_null=True,
        help_text="Default: the opportunity's template.",
    )
    project_code = serializers.SlugField(max_length=30)
    project_name = serializers.CharField(max_length=200, required=False, default="")
    start_date = serializers.DateField()
    manager = SlugRelated(
        slug_field="email",
        queryset=User.objects.filter(is_active=True, groups__name=Role.PROJECT_MANAGER),
    )


class OpportunityFilter(UpdatedSinceFilterSet):
    expected_close_after = django_filters.DateFilter("expected_close", lookup_expr="gte")
    expected_close_before = django_filters.DateFilter("expected_close", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(
        fields=("expected_close", "value", "created_at", "updated_at", "id")
    )

    class Meta:
        model = Opportunity
        fields = ["stage", "customer"]


class OpportunityListCreate(generics.ListAPIView):
    permission_classes = [Sales]
    serializer_class = OpportunitySerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = OpportunityFilter
    api_area = "crm"

    def get_queryset(self):
        return (
            selectors.opportunity_list_visible_to(self.request.user)
            .select_related("project_template")
            .order_by("-id")
        )

    @extend_schema(request=OpportunityCreateIn, responses={201: OpportunitySerializer})
    def post(self, request: Request) -> Response:
        data = OpportunityCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        customer_id, lead_id = fields.pop("customer", None), fields.pop("lead", None)
        customer = (
            selectors.customer_get_for_user(request.user, customer_id) if customer_id else None
        )
        lead = selectors.lead_get_for_user(request.user, lead_id) if lead_id else None
        opp = services.opportunity_create(
            actor=request.user, customer=customer, lead=lead, **fields
        )
        opp = selectors.opportunity_get_for_user(request.user, opp.pk)
        return Response(OpportunitySerializer(opp).data, status=status.HTTP_201_CREATED)


class OpportunityDetail(ETagMixin, generics.GenericAPIView):
    permission_classes = [Sales]
    serializer_class = OpportunitySerializer
    api_area = "crm"

    @etag_detail_schema(responses=OpportunitySerializer)
    def get(self, request: Request, pk: int) -> Response:
        opp = selectors.opportunity_get_for_user(request.user, pk)
        return self.with_etag(Response(OpportunitySerializer(opp).data), opp)

    @if_match_schema(request=OpportunityChangeIn, responses=OpportunitySerializer)
    def patch(self, request: Request, pk: int) -> Response:
        data = OpportunityChangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            opp = self.locked(selectors.opportunity_get_for_user(request.user, pk))
            services.opportunity_update(opportunity=opp, actor=request.user, **data.validated_data)
        opp = selectors.opportunity_get_for_user(request.user, pk)
        return self.with_etag(Response(OpportunitySerializer(opp).data), opp)


class OpportunityWin(generics.GenericAPIView):
    """Won: creates the customer (from the lead if needed) and the project from a template."""

    permission_classes = [Sales]
    serializer_class = OpportunitySerializer
    api_area = "crm"

    @extend_schema(request=OpportunityWinIn, responses=OpportunitySerializer)
    def post(self, request: Request, pk: int) -> Response:
        opp = selectors.opportunity_get_for_user(request.user, pk)
        data = OpportunityWinIn(data=request.data)
        data.is_valid(raise_exception=True)
        services.opportunity_win(opportunity=opp, actor=request.user, **data.validated_data)
        opp = selectors.opportunity_get_for_user(request.user, pk)
        return Response(OpportunitySerializer(opp).data)


class OpportunityLose(generics.GenericAPIView):
    permission_classes = [Sales]
    serializer_class = OpportunitySerializer
    api_area = "crm"

    @extend_schema(request=ReasonIn, responses=OpportunitySerializer)
    def post(self, request: Request, pk: int) -> Response:
        opp = selectors.opportunity_get_for_user(request.user, pk)
        data = ReasonIn(data=request.data)
        data.is_valid(raise_exception=True)
        opp = services.opportunity_lose(
            opportunity=opp, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(OpportunitySerializer(opp).data)


urlpatterns = [
    path("leads/", LeadListCreate.as_view(), name="leads"),
    path("leads/<int:pk>/", LeadDetail.as_view(), name="lead"),
    path("leads/<int:pk>/qualify/", LeadQualify.as_view(), name="lead-qualify"),
    path("leads/<int:pk>/convert/", LeadConvert.as_view(), name="lead-convert"),
    path("leads/<int:pk>/disqualify/", LeadDisqualify.as_view(), name="lead-disqualify"),
    path("customers/", CustomerListCreate.as_view(), name="customers"),
    path("customers/<int:pk>/", CustomerDetail.as_view(), name="customer"),
    path("contacts/", ContactListCreate.as_view(), name="contacts"),
    path("contacts/<int:pk>/", ContactDetail.as_view(), name="contact"),
    path("opportunities/", OpportunityListCreate.as_view(), name="opportunities"),
    path("opportunities/<int:pk>/", OpportunityDetail.as_view(), name="opportunity"),
    path("opportunities/<int:pk>/win/", OpportunityWin.as_view(), name="opportunity-win"),
    path("opportunities/<int:pk>/lose/", OpportunityLose.as_view(), name="opportunity-lose"),
]

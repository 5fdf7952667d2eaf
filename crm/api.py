"""REST API of the crm app: leads in and out (managers, finance and admins; CRM sync).

One view per operation; each delegates to crm.services / crm.selectors, the same code the
pages use, so the duplicate rules and the owner's notification are identical.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from crm import selectors, services
from crm.models import Lead, LeadSource, LeadStatus
from ledger.models import LegalEntity
from psa.api import role_permission
from psa.roles import Role

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
    legal_entity = serializers.SlugRelatedField(
        slug_field="code", queryset=LegalEntity.objects.all()
    )
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


class LeadListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=LeadStatus.choices, required=False)


class LeadListCreate(generics.GenericAPIView):
    permission_classes = [Sales]
    serializer_class = LeadSerializer
    pagination_class = None  # returns at most 200 leads as a plain list (see get)
    api_area = "crm"

    @property
    def api_scopes(self) -> tuple[str, ...] | None:
        # A website's token holds only "leads:create": it may post leads, never read them.
        if self.request.method == "POST":
            return ("crm:write", "leads:create")
        return None

    @extend_schema(parameters=[LeadListQuery], responses=LeadSerializer(many=True))
    def get(self, request: Request) -> Response:
        query = LeadListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        leads = selectors.lead_list_visible_to(request.user).order_by("-created_at", "-id")
        if query.validated_data.get("status"):
            leads = leads.filter(status=query.validated_data["status"])
        return Response(LeadSerializer(leads[:200], many=True).data)

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


urlpatterns = [
    path("leads/", LeadListCreate.as_view(), name="leads"),
    path("leads/<int:pk>/", LeadDetail.as_view(), name="lead"),
]

"""REST API of billing: billing runs (preview, execute), invoices (issue, send, void, PDF)
and the project profitability report. Finance and admins only, as the billing pages.

One view per operation; each delegates to billing.services / billing.selectors, the same
code the pages use.
"""

from __future__ import annotations

import json
from typing import Any

import django_filters
from django.core.files.base import ContentFile
from django.db.models import Q
from django.http import FileResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, renderers, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billing import selectors, services
from billing.api import dunning as api_dunning
from billing.api import taxes as api_taxes
from billing.api import usage as api_usage
from billing.api.manual import ManualInvoiceIn
from billing.api.runs import BillingApi, Finance, RunDetail, RunListExecute, RunPreview  # noqa: F401
from billing.models import Invoice, InvoiceLine, InvoiceStatus
from billing.services.manual import invoice_draft_create
from billing.services.pdf import invoice_pdf_store, render_invoice_pdf
from projects.selectors import project_list_visible_to
from psa.kernel import clock, errors
from psa.kernel.api import (
    FILTER_BACKENDS,
    BooleanFilter,
    DateField,
    DateFilter,
    ErrorSerializer,
    ETagMixin,
    JSONRenderer,
    ModelSerializer,
    QuerySerializer,
    Serializer,
    UpdatedSinceFilterSet,
    etag_detail_schema,
)
from psa.kernel.api_money import MoneyField


class InvoiceLineSerializer(ModelSerializer):
    project = serializers.CharField(source="project.code", default=None, allow_null=True)
    net = MoneyField(currency="invoice.currency")
    tax = MoneyField(currency="invoice.currency")

    class Meta:
        model = InvoiceLine
        fields = ["position", "kind", "description", "project", "quantity", "unit_price", "net",
                  "tax_rate_value", "tax"]  # fmt: skip


class InvoiceSerializer(ModelSerializer):
    legal_entity = serializers.CharField(source="legal_entity.code")
    customer_name = serializers.CharField(source="customer.name")
    project = serializers.CharField(source="project.code", default=None, allow_null=True)
    credits = serializers.IntegerField(source="credits_id", allow_null=True)
    subtotal = MoneyField()
    tax_total = MoneyField()
    total = MoneyField()
    amount_paid = MoneyField()
    amount_due = MoneyField()
    has_pdf = serializers.SerializerMethodField()
    written_off = serializers.DecimalField(
        source="written_off_amount", max_digits=16, decimal_places=2, read_only=True,
        help_text="What was written off as bad debt (0.00: nothing).",
    )  # fmt: skip
    status_label = serializers.CharField(
        read_only=True,
        help_text='How the status reads: "Written off" for an invoice settled by a write-off '
        '(its status is "paid": nothing is due), else the status\'s label.',
    )

    class Meta:
        model = Invoice
        fields = ["id", "legal_entity", "customer", "customer_name", "project", "kind",
                  "status", "status_label", "written_off", "number", "currency", "issue_date",
                  "due_date", "period_end",
                  "subtotal", "tax_total", "total", "amount_paid", "amount_due",
                  "reverse_charge_note", "credits", "billing_run", "issued_at", "sent_at",
                  "has_pdf", "created_at", "updated_at"]  # fmt: skip

    def get_has_pdf(self, invoice: Invoice) -> bool:
        return bool(invoice.pdf)


class InvoiceDetailSerializer(InvoiceSerializer):
    lines = InvoiceLineSerializer(many=True, read_only=True)

    class Meta(InvoiceSerializer.Meta):
        fields = [*InvoiceSerializer.Meta.fields, "lines"]


class InvoiceFilter(UpdatedSinceFilterSet):
    customer = django_filters.NumberFilter(field_name="customer_id")
    project = django_filters.CharFilter(
        method="filter_project", help_text="Invoices for, or with lines of, this project (code)."
    )
    overdue = BooleanFilter(
        method="filter_overdue", help_text="Issued or part paid, and past the due date."
    )
    issue_date_after = DateFilter("issue_date", lookup_expr="gte")
    issue_date_before = DateFilter("issue_date", lookup_expr="lte")
    ordering = django_filters.OrderingFilter(
        fields=("issue_date", "due_date", "number", "total", "updated_at", "id")
    )

    class Meta:
        model = Invoice
        fields = ["status", "kind", "currency"]

    def filter_project(self, qs: Any, name: str, value: str) -> Any:

        # An invoice per customer has no project of its own; its lines name the projects.
        with_lines = InvoiceLine.objects.filter(project__code=value).values("invoice_id")
        return qs.filter(Q(project__code=value) | Q(pk__in=with_lines))

    def filter_overdue(self, qs: Any, name: str, value: bool | None) -> Any:
        if value is None:
            return qs
        late = selectors.invoice_filter(
            Invoice.objects.all(), {"overdue": "1"}, clock.today()
        ).values("pk")
        return qs.filter(pk__in=late) if value else qs.exclude(pk__in=late)


def _invoice(request: Request, pk: int) -> Invoice:
    return selectors.invoice_get_for_user(request.user, pk)


def _detail(request: Request, pk: int) -> Invoice:
    invoice = (
        selectors.invoice_list_visible_to(request.user)
        .prefetch_related("lines__project")
        .filter(pk=pk)
        .first()
    )
    if invoice is None:
        raise errors.NotFound("No such invoice.")
    return invoice


class InvoiceList(BillingApi, generics.ListAPIView):
    """Invoices and credit notes; POST drafts a manual invoice for a customer (issue it with
    ``POST /invoices/{id}/issue/``)."""

    serializer_class = InvoiceSerializer
    filter_backends = FILTER_BACKENDS
    filterset_class = InvoiceFilter

    def get_queryset(self):
        return selectors.invoice_list_visible_to(self.request.user).order_by("-id")

    @extend_schema(request=ManualInvoiceIn, responses={201: InvoiceDetailSerializer})
    def post(self, request: Request) -> Response:
        body = ManualInvoiceIn(data=request.data)
        body.is_valid(raise_exception=True)
        draft = invoice_draft_create(actor=request.user, **body.validated_data)
        return Response(InvoiceDetailSerializer(_detail(request, draft.pk)).data, status=201)


class InvoiceDetail(BillingApi, ETagMixin, generics.GenericAPIView):
    serializer_class = InvoiceDetailSerializer

    @etag_detail_schema(responses=InvoiceDetailSerializer)
    def get(self, request: Request, pk: int) -> Response:
        invoice = _detail(request, pk)
        return self.with_etag(Response(InvoiceDetailSerializer(invoice).data), invoice)


class VoidIn(Serializer):
    reason = serializers.CharField(max_length=500)


class InvoiceIssue(BillingApi, generics.GenericAPIView):
    serializer_class = InvoiceDetailSerializer

    @extend_schema(request=None, responses=InvoiceDetailSerializer)
    def post(self, request: Request, pk: int) -> Response:
        """Issue a draft: number, dates and the posting in the books (repeat: no change)."""
        services.invoice_issue(invoice=_invoice(request, pk), actor=request.user)
        return Response(InvoiceDetailSerializer(_detail(request, pk)).data)


class InvoiceSend(BillingApi, generics.GenericAPIView):
    serializer_class = InvoiceDetailSerializer

    @extend_schema(request=None, responses={202: InvoiceDetailSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """E-mail the issued invoice with its PDF to the customer (queued; again = resend)."""
        services.invoice_send(invoice=_invoice(request, pk), actor=request.user)
        return Response(InvoiceDetailSerializer(_detail(request, pk)).data, status=202)


class InvoiceVoid(BillingApi, generics.GenericAPIView):
    serializer_class = InvoiceDetailSerializer

    @extend_schema(request=VoidIn, responses={201: InvoiceDetailSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Void an issued, unpaid invoice: returns the credit note that negates it."""
        data = VoidIn(data=request.data)
        data.is_valid(raise_exception=True)
        credit = services.invoice_void(
            invoice=_invoice(request, pk), actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(InvoiceDetailSerializer(_detail(request, credit.pk)).data, status=201)


class PdfRenderer(renderers.BaseRenderer):
    """Lets a client ask for ``application/pdf``; errors still come as the JSON error shape."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None):
        if isinstance(data, bytes):
            return data
        return json.dumps(data, default=str).encode()


class InvoicePdf(BillingApi, generics.GenericAPIView):
    renderer_classes = [JSONRenderer, PdfRenderer]

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY),
            (404, "application/json"): ErrorSerializer,
        }
    )
    def get(self, request: Request, pk: int) -> Any:
        """The invoice's PDF; rendered now if it has not been stored yet (a draft: a preview)."""

        invoice = _invoice(request, pk)
        if not invoice.pdf or not invoice.pdf.storage.exists(invoice.pdf.name):
            if invoice.status == InvoiceStatus.DRAFT:
                data = render_invoice_pdf(invoice)  # a draft's PDF is a preview: not stored
                return FileResponse(ContentFile(data), filename=f"draft-{invoice.pk}.pdf",
                                    content_type="application/pdf")  # fmt: skip
            invoice_pdf_store(invoice)
        return FileResponse(invoice.pdf.open("rb"), filename=f"{invoice.number}.pdf",
                            content_type="application/pdf")  # fmt: skip


# --- project profitability ----------------------------------------------------------------


class ProfitabilityQuery(QuerySerializer):
    start = DateField(required=False)
    end = DateField(required=False)
    customer = serializers.IntegerField(required=False, min_value=1)
    project = serializers.SlugField(required=False, max_length=30)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        today = clock.today()
        attrs.setdefault("start", today.replace(month=1, day=1))
        attrs.setdefault("end", today)
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": "The period ends before it starts."})
        return attrs


class ProfitabilityRowOut(Serializer):
    project = serializers.CharField()
    name = serializers.CharField()
    customer_id = serializers.IntegerField()
    currency = serializers.CharField()
    invoiced_net = MoneyField()
    approved_hours = serializers.DecimalField(max_digits=12, decimal_places=2)
    approved_time_value = MoneyField()
    difference = MoneyField()


class ProfitabilityOut(Serializer):
    start = DateField()
    end = DateField()
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ProfitabilityRowOut(many=True)


class ProjectProfitability(BillingApi, generics.GenericAPIView):
    """Per project: invoiced net revenue against the value of approved time in a period.

    The model holds no cost rates, so approved time is valued at its resolved billing rate;
    ``difference`` is invoiced minus that value (write-ups positive, unbilled work negative).
    """

    @extend_schema(
        parameters=[
            ProfitabilityQuery,
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses=ProfitabilityOut,
    )
    def get(self, request: Request) -> Response:

        query = ProfitabilityQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        projects = project_list_visible_to(request.user).order_by("code")
        if q.get("customer"):
            projects = projects.filter(customer_id=q["customer"])
        if q.get("project"):
            projects = projects.filter(code=q["project"])
        page = self.paginate_queryset(projects)
        rows = selectors.project_profitability(projects=page, start=q["start"], end=q["end"])
        body = self.get_paginated_response(rows).data
        return Response(ProfitabilityOut({**body, "start": q["start"], "end": q["end"]}).data)


app_name = "billing-api"
urlpatterns = [
    *api_usage.urlpatterns,  # recurring fees and their usage per period
    path("tax-rates/", api_taxes.TaxRateList.as_view(), name="tax-rates"),
    path("tax-rates/<int:pk>/", api_taxes.TaxRateDetail.as_view(), name="tax-rate"),
    path("dunning-levels/", api_dunning.DunningLevelList.as_view(), name="dunning-levels"),
    path(
        "dunning-levels/<int:pk>/", api_dunning.DunningLevelDetail.as_view(), name="dunning-level"
    ),
    path("runs/", RunListExecute.as_view(), name="runs"),
    path("runs/preview/", RunPreview.as_view(), name="run-preview"),
    path("runs/<int:pk>/", RunDetail.as_view(), name="run"),
    path("invoices/", InvoiceList.as_view(), name="invoices"),
    path("invoices/<int:pk>/", InvoiceDetail.as_view(), name="invoice"),
    path("invoices/<int:pk>/issue/", InvoiceIssue.as_view(), name="invoice-issue"),
    path("invoices/<int:pk>/send/", InvoiceSend.as_view(), name="invoice-send"),
    path("invoices/<int:pk>/void/", InvoiceVoid.as_view(), name="invoice-void"),
    path("invoices/<int:pk>/pdf/", InvoicePdf.as_view(), name="invoice-pdf"),
    path(
        "reports/project-profitability/",
        ProjectProfitability.as_view(),
        name="project-profitability",
    ),
]

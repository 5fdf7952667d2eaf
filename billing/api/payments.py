"""REST API of payments (finance): list, record a bank payment, refund, write off, retry.

Mounted at /api/v1/payments/; tokens need the ``billing`` area (billing:read / billing:write).
Every view delegates to the services in billing.services.payments / billing.services.collect.
"""

from __future__ import annotations

from decimal import Decimal

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.models import Payment, PaymentAttempt, Refund, WriteOff
from billing.selectors import invoice_get_for_user, invoice_list_visible_to
from billing.selectors.payments import attempts_needing_attention, payment_list_visible_to
from billing.services import collect, payments, refunds
from psa.kernel import errors
from psa.kernel.api import DateField, ModelSerializer, Serializer, role_permission
from psa.kernel.api_money import MoneyField
from psa.kernel.roles import Role

FinanceOnly = role_permission(Role.FINANCE)


def _payments_visible_to(user: object):

    return payment_list_visible_to(user)


class PaymentOut(ModelSerializer):
    invoice_number = serializers.CharField(source="invoice.number")
    customer = serializers.CharField(source="customer.name")
    amount = MoneyField()
    applied = MoneyField()
    fee = MoneyField()
    refunded = MoneyField()

    class Meta:
        model = Payment
        fields = ["id", "invoice", "invoice_number", "customer", "method", "amount",
                  "applied", "fee", "currency", "received_on", "reference", "refunded",
                  "created_at"]  # fmt: skip


class PaymentIn(Serializer):
    invoice = serializers.IntegerField()
    amount = MoneyField(
        min_value=Decimal("0.001"),
        help_text="In the invoice's currency, with at most its decimals.",
    )
    received_on = DateField(operational=True, required=False)
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True)


class RefundIn(Serializer):
    amount = MoneyField(
        min_value=Decimal("0.001"),
        help_text="In the payment's currency, with at most its decimals.",
    )
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True)


class RefundOut(ModelSerializer):
    class Meta:
        model = Refund
        fields = ["id", "payment", "amount", "status", "via", "stripe_refund_id", "reason",
                  "external", "created_at"]  # fmt: skip


class WriteOffIn(Serializer):
    reason = serializers.CharField(max_length=300)


class WriteOffOut(ModelSerializer):
    amount = MoneyField(currency="invoice.currency", read_only=True)

    class Meta:
        model = WriteOff
        fields = ["id", "invoice", "amount", "reason", "created_at"]


class AttemptOut(ModelSerializer):
    class Meta:
        model = PaymentAttempt
        fields = ["id", "invoice", "number", "kind", "status", "amount", "currency",
                  "error_code", "error_message", "next_retry_at", "created_at"]  # fmt: skip


@extend_schema_view(
    get=extend_schema(
        parameters=[OpenApiParameter("invoice", int, description="Only this invoice's payments.")]
    )
)
class PaymentListCreate(generics.ListAPIView):
    """List payments (filter with ?invoice=) or record a bank transfer."""

    permission_classes = [FinanceOnly]
    serializer_class = PaymentOut
    api_area = "billing"

    def get_queryset(self):
        qs = _payments_visible_to(self.request.user).order_by("-received_on", "-id")
        invoice = self.request.query_params.get("invoice")
        if invoice:
            if not invoice.isdigit():
                raise errors.ValidationFailed(
                    "invoice must be an id.", fields={"invoice": "Not an id."}
                )
            qs = qs.filter(invoice_id=int(invoice))
        return qs

    @extend_schema(request=PaymentIn, responses={201: PaymentOut})
    def post(self, request: Request) -> Response:
        data = PaymentIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        invoice = invoice_get_for_user(request.user, v["invoice"])
        payment = payments.payment_record(
            invoice=invoice, amount=v["amount"], received_on=v.get("received_on"),
            reference=v.get("reference", ""), actor=request.user,
        )  # fmt: skip
        return Response(PaymentOut(payment).data, status=status.HTTP_201_CREATED)


class PaymentRefund(APIView):
    permission_classes = [FinanceOnly]
    api_area = "billing"

    @extend_schema(request=RefundIn, responses={201: RefundOut})
    def post(self, request: Request, pk: int) -> Response:
        payment = _payments_visible_to(request.user).filter(pk=pk).first()
        if payment is None:
            raise errors.NotFound("No such payment.")
        data = RefundIn(data=request.data)
        data.is_valid(raise_exception=True)
        refund = refunds.payment_refund(
            payment=payment, amount=data.validated_data["amount"], actor=request.user,
            reason=data.validated_data.get("reason", ""),
        )  # fmt: skip
        return Response(RefundOut(refund).data, status=status.HTTP_201_CREATED)


class InvoiceWriteOff(APIView):
    permission_classes = [FinanceOnly]
    api_area = "billing"

    @extend_schema(request=WriteOffIn, responses={201: WriteOffOut})
    def post(self, request: Request, invoice_pk: int) -> Response:
        invoice = invoice_get_for_user(request.user, invoice_pk)
        data = WriteOffIn(data=request.data)
        data.is_valid(raise_exception=True)
        row = payments.invoice_write_off(
            invoice=invoice, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(WriteOffOut(row).data, status=status.HTTP_201_CREATED)


class AttemptList(generics.ListAPIView):
    """Card payment attempts that need attention (failed, or stuck in flight)."""

    permission_classes = [FinanceOnly]
    serializer_class = AttemptOut
    api_area = "billing"

    def get_queryset(self):

        return attempts_needing_attention(visible_to=self.request.user)


class AttemptRetry(APIView):
    permission_classes = [FinanceOnly]
    api_area = "billing"

    @extend_schema(request=None, responses={200: AttemptOut})
    def post(self, request: Request, pk: int) -> Response:
        attempt = PaymentAttempt.objects.filter(
            pk=pk, invoice__in=invoice_list_visible_to(request.user)
        ).first()
        if attempt is None:
            raise errors.NotFound("No such payment attempt.")
        attempt = collect.payment_attempt_retry(attempt=attempt, actor=request.user)
        return Response(AttemptOut(attempt).data)


urlpatterns = [
    path("", PaymentListCreate.as_view(), name="api-payments"),
    path("<int:pk>/refunds/", PaymentRefund.as_view(), name="api-payment-refund"),
    path("invoices/<int:invoice_pk>/write-off/", InvoiceWriteOff.as_view(),
         name="api-invoice-write-off"),
    path("attempts/", AttemptList.as_view(), name="api-payment-attempts"),
    path("attempts/<int:pk>/retry/", AttemptRetry.as_view(), name="api-payment-attempt-retry"),
]  # fmt: skip

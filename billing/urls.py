"""URLs of the billing app's pages (finance and admins)."""

from django.urls import path

from billing.views import invoices as views
from billing.views import payments as payment_views

app_name = "billing"
urlpatterns = [
    path("", views.invoice_list, name="invoice_list"),
    path("run/", views.billing_run, name="billing_run"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/issue/", views.invoice_issue, name="invoice_issue"),
    path("invoices/<int:pk>/void/", views.invoice_void, name="invoice_void"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:pk>/send/", views.invoice_send, name="invoice_send"),
    path("projects/<int:pk>/", views.project_billing, name="project_billing"),
    # Payments (billing/views/payments.py)
    path("invoices/<int:pk>/payments/", payment_views.payment_new, name="payment_new"),
    path("invoices/<int:pk>/write-off/", payment_views.invoice_write_off, name="write_off"),
    path("payments/", payment_views.payment_list, name="payment_list"),
    path("payments/<int:pk>/refund/", payment_views.payment_refund, name="payment_refund"),
    path("attempts/<int:pk>/retry/", payment_views.attempt_retry, name="attempt_retry"),
    path("dunning/", payment_views.dunning_levels, name="dunning_levels"),
]

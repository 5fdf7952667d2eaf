"""Public URLs of the payment layer: the pay page (named ``pay``) and Stripe's webhook."""

from django.urls import path

from billing.views import pay as pay_views
from billing.views.stripe import stripe_webhook

urlpatterns = [
    path("pay/<str:token>/", pay_views.pay_page, name="pay"),
    path("pay/<str:token>/checkout/", pay_views.pay_checkout, name="pay_checkout"),
    path("pay/<str:token>/pdf/", pay_views.pay_pdf, name="pay_pdf"),
    path("webhooks/stripe/", stripe_webhook, name="stripe_webhook"),
]

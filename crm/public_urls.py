"""The public web-to-lead form under /leads/ (no login)."""

from django.urls import path

from crm import views

app_name = "leads"
urlpatterns = [
    path("new/", views.lead_form, name="new"),
    path("thanks/", views.lead_thanks, name="thanks"),
]

"""URLs of the timesheets app's pages."""

from django.urls import path

from timesheets import views

app_name = "timesheets"
urlpatterns = [
    path("", views.week, name="week"),
    path("cell/", views.cell, name="cell"),
    path("approvals/", views.approvals, name="approvals"),
    path("approvals/approve/", views.approve, name="approve"),
    path("approvals/reject/", views.reject, name="reject"),
    path("approvals/expenses/", views.expenses_decide, name="expenses_decide"),
    path("approvals/policies/", views.policies, name="policies"),
    path("expenses/", views.expenses, name="expenses"),
    path("<str:day>/", views.week, name="week_of"),
    path("<str:day>/submit/", views.submit, name="submit"),
    path("<str:day>/copy/", views.copy_previous, name="copy_previous"),
]

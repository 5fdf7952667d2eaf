"""URLs of the books' pages (finance and admins)."""

from django.urls import path

from ledger import views

app_name = "ledger"
urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:code>/trial-balance/", views.trial_balance, name="trial_balance"),
    path("<slug:code>/profit-and-loss/", views.profit_and_loss, name="profit_and_loss"),
    path("<slug:code>/balance-sheet/", views.balance_sheet, name="balance_sheet"),
    path("<slug:code>/accounts/", views.chart, name="chart"),
    path("<slug:code>/accounts/<str:account>/", views.account_ledger, name="account_ledger"),
    path("<slug:code>/entries/new/", views.entry_new, name="entry_new"),
    path("<slug:code>/entries/<int:pk>/", views.entry_detail, name="entry_detail"),
    path("<slug:code>/entries/<int:pk>/reverse/", views.entry_reverse, name="entry_reverse"),
    path("<slug:code>/ar-aging/", views.ar_aging, name="ar_aging"),
    path("<slug:code>/wip/", views.unbilled_wip, name="unbilled_wip"),
    path("<slug:code>/close/", views.period_close, name="period_close"),
    path("<slug:code>/exports/", views.export_download, name="exports"),
    path("<slug:code>/integration/", views.integration, name="integration"),
    path(
        "<slug:code>/integration/outbox/<int:pk>/retry/",
        views.outbox_message_retry,
        name="outbox_retry",
    ),
]

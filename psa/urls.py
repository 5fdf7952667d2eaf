from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from psa.automation import views as automation_views
from psa.kernel import views

handler403 = "psa.kernel.views.error_403"
handler404 = "psa.kernel.views.error_404"
handler500 = "psa.kernel.views.error_500"

account_urls = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("tokens/", views.api_tokens, name="api_tokens"),
    path("tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]

urlpatterns = [
    path("", automation_views.home, name="home"),
    path("accounts/", include(account_urls)),
    path("operations/", automation_views.operations, name="operations"),
    path("operations/automation/", automation_views.automation, name="automation"),
    path("operations/clock/", automation_views.clock_advance, name="clock_advance"),
    path("operations/mail/<int:pk>/retry/", views.mail_retry, name="mail_retry"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    # Before admin.site.urls: the admin's sign-in is throttled like ours.
    path("admin/login/", views.AdminLoginView.as_view(), name="admin_login"),
    path("admin/", admin.site.urls),
    path("crm/", include("crm.urls")),
    path("leads/", include("crm.public_urls")),
    path("projects/", include("projects.urls")),
    path("time/", include("timesheets.urls")),
    path("billing/", include("billing.urls")),
    path("ledger/", include("ledger.urls")),
    path("api/v1/ledger/", include("ledger.api")),
    path("api/v1/webhooks/", include("psa.kernel.api_webhooks")),
    path("api/v1/tokens/", include("psa.kernel.api_tokens")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"
    ),
    path("api/v1/crm/", include("crm.api")),
    path("api/v1/time/", include("timesheets.api")),
    path("api/v1/payments/", include("billing.api.payments")),
    path("", include("billing.pay_urls")),
    path("api/v1/projects/", include("projects.api")),
    path("api/v1/project-templates/", include("projects.api.templates")),
    path("api/v1/billing/", include("billing.api.invoices")),
    path("api/v1/jobs/", include("psa.automation.api")),
    path("api/v1/automation/policies/", include("psa.automation.api_policies")),
]

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from psa.kernel import errors
from psa.kernel.roles import Role, has_role, require_role, role_required, roles_of

pytestmark = pytest.mark.django_db


def test_roles_come_from_groups_and_admins_hold_every_role(consultant, admin_user, outsider):
    assert roles_of(consultant) == {Role.CONSULTANT}
    assert has_role(consultant, Role.CONSULTANT)
    assert not has_role(consultant, Role.FINANCE)
    assert has_role(admin_user, Role.FINANCE, Role.PROJECT_MANAGER)
    assert roles_of(outsider) == frozenset()


def test_inactive_users_hold_no_role(consultant):
    consultant.is_active = False
    assert roles_of(consultant) == frozenset()


def test_require_role_raises_a_403_domain_error(consultant):
    with pytest.raises(errors.PermissionDenied, match="Finance") as caught:
        require_role(consultant, Role.FINANCE)
    assert caught.value.status == 403


def test_role_required_view_decorator(finance, consultant):
    @role_required(Role.FINANCE)
    def view(request):
        return HttpResponse("ok")

    request = RequestFactory().get("/x")
    request.user = finance
    assert view(request).status_code == 200
    request.user = consultant
    with pytest.raises(errors.PermissionDenied):
        view(request)


def test_role_groups_exist_after_migrate():
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)


def test_the_api_shares_the_role_checks(finance, consultant):
    from rest_framework.response import Response
    from rest_framework.test import APIRequestFactory, force_authenticate
    from rest_framework.views import APIView

    from psa.kernel.api import role_permission

    class FinanceOnly(APIView):
        permission_classes = [role_permission(Role.FINANCE)]

        def get(self, request):
            return Response({"ok": True})

    request = APIRequestFactory().get("/api/v1/x")
    force_authenticate(request, user=finance)
    assert FinanceOnly.as_view()(request).status_code == 200
    request = APIRequestFactory().get("/api/v1/x")
    force_authenticate(request, user=consultant)
    denied = FinanceOnly.as_view()(request)
    assert denied.status_code == 403
    assert denied.data["error"]["code"] == "permission_denied"
    assert "Finance" in denied.data["error"]["message"]


def test_django_permission_denied_renders_the_friendly_403_page(client, consultant, settings):
    from django.core.exceptions import PermissionDenied
    from django.urls import path

    def view(request):
        raise PermissionDenied("Only finance can open the ledger.")

    import psa.urls

    settings.ROOT_URLCONF = type(
        "urls",
        (),
        {
            "urlpatterns": [path("x/", view), *psa.urls.urlpatterns],
            "handler403": "psa.kernel.views.error_403",
        },
    )
    client.force_login(consultant)
    response = client.get("/x/")
    assert response.status_code == 403
    assert "Only finance can open the ledger." in response.content.decode()


def test_500_page_renders_without_a_database():
    from django.test import RequestFactory

    from psa.kernel.views import error_500

    response = error_500(RequestFactory().get("/"))
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content

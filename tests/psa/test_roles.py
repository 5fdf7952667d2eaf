import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from psa import errors
from psa.roles import Role, has_role, require_role, role_required, roles_of

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

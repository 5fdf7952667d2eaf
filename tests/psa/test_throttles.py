# ruff: noqa: F811 - fixtures imported from payment_fixtures
"""The admin's sign-in and password reset are throttled like our sign-in; every rate limit
fails open (allows, logs) when the cache (Redis) is down, so no public page answers 500."""

import logging

import pytest
from django.core import mail

from crm.models import Lead
from tests.billing.payment_fixtures import customer, firm, invoice  # noqa: F401
from tests.conftest import PASSWORD
from tests.crm.factories import LeadFormKeyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_down(settings):
    """The cache points at a port nothing listens on: every cache call raises."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    return settings


def _admin_login(client, email, password):
    return client.post("/admin/login/?next=/admin/", {"username": email, "password": password})


def test_the_admin_sign_in_is_throttled_even_for_the_right_password(client, admin_user, settings):
    settings.LOGIN_FAILURES_BEFORE_DELAY = 3
    for _ in range(3):
        assert _admin_login(client, admin_user.email, "wrong").status_code == 200
    throttled = _admin_login(client, admin_user.email, PASSWORD)
    assert throttled.status_code == 429
    assert b"Too many failed attempts" in throttled.content
    assert "_auth_user_id" not in client.session


def test_the_admin_sign_in_still_works(client, admin_user):
    response = _admin_login(client, admin_user.email, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_password_reset_requests_are_throttled(client, consultant):
    codes = [
        client.post("/accounts/password/reset/", {"email": consultant.email}).status_code
        for _ in range(8)
    ]
    assert codes == [302, 302, 302, 429, 429, 429, 429, 429]
    assert len(mail.outbox) == 3


def test_password_reset_is_throttled_per_address_across_e_mails(client, db):
    codes = [
        client.post("/accounts/password/reset/", {"email": f"n{n}@example.test"}).status_code
        for n in range(14)
    ]
    assert codes.count(429) == 2


def test_sign_in_works_while_redis_is_down(client, consultant, redis_down, caplog):
    with caplog.at_level(logging.WARNING, logger="psa.kernel.ratelimit"):
        assert client.post(
            "/accounts/login/", {"username": consultant.email, "password": "wrong"}
        ).status_code == 200  # fmt: skip
        response = client.post(
            "/accounts/login/", {"username": consultant.email, "password": PASSWORD}
        )
    assert response.status_code == 302
    assert "the cache is down" in caplog.text


def test_admin_sign_in_and_password_reset_work_while_redis_is_down(client, admin_user, redis_down):
    assert client.post("/accounts/password/reset/", {"email": admin_user.email}).status_code == 302
    assert len(mail.outbox) == 1
    assert _admin_login(client, admin_user.email, PASSWORD).status_code == 302


def test_the_pay_page_works_while_redis_is_down(client, invoice, redis_down):
    response = client.get(f"/pay/{invoice.pay_token}/")
    assert response.status_code == 200
    assert invoice.number.encode() in response.content


def test_the_lead_form_works_while_redis_is_down(client, project_manager, redis_down):
    LeadFormKeyFactory(owner=project_manager, is_default=True, allowed_origins=[])
    response = client.post(
        "/leads/new/",
        {"name": "Priya Shah", "email": "priya@orbitalfoods.example", "company": "Orbital",
         "message": "Hello", "nickname": ""},
    )  # fmt: skip
    assert response.status_code == 302
    assert Lead.objects.count() == 1


def test_the_operations_page_and_home_work_while_redis_is_down(client, admin_user, redis_down):
    client.force_login(admin_user)
    assert client.get("/operations/").status_code == 200
    assert client.get("/").status_code == 200


def test_the_lead_form_answers_when_the_broker_is_down(
    client, project_manager, monkeypatch, django_capture_on_commit_callbacks, caplog
):
    """The lead is saved; its notification cannot be queued (logged as an error), and the
    visitor is thanked rather than shown a 500 for a change that was made."""
    from kombu.exceptions import OperationalError

    from crm.tasks import lead_notify_owner

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(lead_notify_owner, "apply_async", broker_down)
    LeadFormKeyFactory(owner=project_manager, is_default=True, allowed_origins=[])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/leads/new/",
            {"name": "Priya Shah", "email": "priya@orbitalfoods.example", "company": "Orbital",
             "message": "Hello", "nickname": ""},
        )  # fmt: skip
    assert response.status_code == 302
    assert Lead.objects.count() == 1
    assert "crm.tasks.lead_notify_owner" in caplog.text and "broker is down" in caplog.text

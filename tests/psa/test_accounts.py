"""Sign-in, sign-out, password reset, throttling, and a navigation that follows the role."""

import re

import pytest
from django.core import mail

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client, email, password=PASSWORD):
    return client.post("/accounts/login/", {"username": email, "password": password})


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/")


def test_a_consultant_signs_in_and_out(client, consultant):
    response = _login(client, consultant.email)
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert b"Hello, Cora" in home.content
    assert b"My week" in home.content
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_e_mail_is_case_insensitive_at_sign_in(client, consultant):
    assert _login(client, "Consultant@Example.TEST").status_code in (200, 302)


def test_wrong_password_is_refused_with_a_message(client, consultant):
    response = _login(client, consultant.email, "nope")
    assert response.status_code == 200
    assert b"do not match an active account" in response.content


def test_repeated_failures_slow_down_even_the_right_password(client, consultant, settings):
    settings.LOGIN_FAILURES_BEFORE_DELAY = 3
    for _ in range(3):
        assert _login(client, consultant.email, "wrong").status_code == 200
    throttled = _login(client, consultant.email)
    assert throttled.status_code == 429
    assert b"Too many failed attempts" in throttled.content
    assert "_auth_user_id" not in client.session


def test_the_delay_ends_and_a_success_clears_the_account(client, consultant, settings, monkeypatch):
    import time
    import types

    from psa.kernel import ratelimit

    settings.LOGIN_FAILURES_BEFORE_DELAY = 2
    for _ in range(2):
        _login(client, consultant.email, "wrong")
    assert _login(client, consultant.email).status_code == 429
    # An hour later (the clock the throttle reads moves on), the right password gets in.
    later = time.time() + 3600
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: later))
    assert _login(client, consultant.email).status_code == 302
    client.post("/accounts/logout/")
    # …and the account's counter was cleared: one more mistake is not throttled.
    assert _login(client, consultant.email, "wrong").status_code == 200


def test_password_reset_by_e_mail(client, consultant, settings):
    settings.PUBLIC_BASE_URL = "https://psa.example.com"
    response = client.post("/accounts/password/reset/", {"email": consultant.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(
        r"https://psa\.example\.com(/accounts/password/reset/\S+/)", mail.outbox[0].body
    )
    assert link, mail.outbox[0].body
    form = client.get(link.group(1), follow=True)
    assert b"Choose a new password" in form.content
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "a-brand-new-passphrase", "new_password2": "a-brand-new-passphrase"},
    )
    assert done.status_code == 302
    assert _login(client, consultant.email, "a-brand-new-passphrase").status_code == 302


def test_password_reset_for_an_unknown_address_sends_nothing_and_reveals_nothing(client):
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.test"})
    assert response.status_code == 302
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("persona", "sees", "does_not_see"),
    [
        ("consultant", [b"My week"], [b"Projects I manage", b"Legal entities", b"Administration"]),
        ("project_manager", [b"My week", b"Projects I manage"], [b"Legal entities"]),
        ("finance", [b"Legal entities"], [b"My week", b"Projects I manage", b"Administration"]),
        ("admin_user", [b"Administration", b"Legal entities", b'href="/admin/"'], []),
        ("outsider", [b"Hello, Otto"], [b"My week", b"Legal entities", b'href="/admin/"']),
    ],
)
def test_home_and_navigation_depend_on_the_role(client, request, persona, sees, does_not_see):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    content = client.get("/").content
    for fragment in sees:
        assert fragment in content, fragment
    for fragment in does_not_see:
        assert fragment not in content, fragment


def test_managers_see_hours_on_their_projects(client, project_manager, project, consultant):
    from tests.timesheets.factories import TimeEntryFactory

    TimeEntryFactory(project=project, person=consultant, status="submitted")
    client.force_login(project_manager)
    content = client.get("/").content.decode()
    assert "APOLLO" in content
    assert "Awaiting my approval: <strong>8 h</strong> from 1 person" in content


def test_friendly_404_page(client, consultant):
    client.force_login(consultant)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "find that page" in response.content.decode()


def test_every_response_carries_a_correlation_id(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="req-123")
    assert response["X-Request-ID"] == "req-123"
    generated = client.get("/healthz", HTTP_X_REQUEST_ID="bad id with spaces")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)

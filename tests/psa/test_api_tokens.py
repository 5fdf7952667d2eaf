"""Personal API tokens, scopes, throttling, idempotency keys and the OpenAPI schema."""

import datetime as dt
import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from ledger.models import JournalEntry
from psa.kernel import errors
from psa.kernel.api_auth import TokenRateThrottle
from psa.kernel.models import ApiToken, IdempotencyRecord
from psa.kernel.services import api_token_create, api_token_revoke
from tests.ledger.factories import books, manual_entry

pytestmark = pytest.mark.django_db
TB = "/api/v1/ledger/uk/reports/trial-balance/"


@pytest.fixture
def uk():
    entity = books(code="uk", functional_currency="GBP")
    # A manual entry: the one kind the reversal endpoint these tests call will reverse.
    manual_entry(entity, date=dt.date(2026, 3, 2), amount="50.00")
    return entity


def bearer(client, token):
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def test_a_token_is_stored_hashed_and_shown_once(finance):
    token, plaintext = api_token_create(user=finance, name="BI", scopes=["ledger:read"])
    assert plaintext.startswith("psa_") and len(plaintext) > 40
    assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in str(ApiToken.objects.values_list())
    assert token.prefix == plaintext[:12]


def test_bad_token_requests_name_the_field(finance):
    with pytest.raises(errors.ValidationFailed) as caught:
        api_token_create(user=finance, name="", scopes=["everything"])
    assert set(caught.value.fields) == {"name", "scopes"}
    with pytest.raises(errors.ValidationFailed) as caught:
        api_token_create(
            user=finance, name="x", scopes=["ledger:read"],
            expires_at=timezone.now() - dt.timedelta(days=1),
        )  # fmt: skip
    assert "expires_at" in caught.value.fields


def test_scopes_decide_what_a_token_may_call(client, finance, uk):
    _, read = api_token_create(user=finance, name="read", scopes=["ledger:read"])
    _, other = api_token_create(user=finance, name="crm", scopes=["crm:read"])
    _, write = api_token_create(user=finance, name="write", scopes=["ledger:write"])
    assert bearer(client, read).get(TB).status_code == 200
    assert bearer(client, write).get(TB).status_code == 200  # write implies read
    denied = bearer(client, other).get(TB)
    assert denied.status_code == 403
    assert "scope" in denied.json()["error"]["message"]
    entry = JournalEntry.objects.get()
    url = f"/api/v1/ledger/uk/entries/{entry.pk}/reverse/"
    assert (
        bearer(client, read).post(url, {"reason": "x"}, content_type="application/json").status_code
        == 403
    )
    assert (
        bearer(client, write)
        .post(url, {"reason": "x"}, content_type="application/json")
        .status_code
        == 201
    )


def test_a_token_can_never_do_more_than_its_user(client, consultant, uk):
    _, plaintext = api_token_create(user=consultant, name="sneaky", scopes=["ledger:read"])
    assert bearer(client, plaintext).get(TB).status_code == 403


@pytest.mark.parametrize("state", ["revoked", "expired", "inactive user", "garbage"])
def test_unusable_tokens_are_refused_with_401(client, finance, uk, state):
    token, plaintext = api_token_create(user=finance, name="t", scopes=["ledger:read"])
    if state == "revoked":
        api_token_revoke(token=token, actor=finance)
    elif state == "expired":
        ApiToken.objects.filter(pk=token.pk).update(
            expires_at=timezone.now() - dt.timedelta(seconds=1)
        )
    elif state == "inactive user":
        finance.is_active = False
        finance.save()
    else:
        plaintext = "psa_not-a-real-token"
    response = bearer(client, plaintext).get(TB)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_tokens_page_creates_shows_once_and_revokes(client, finance, project_manager):
    client.force_login(finance)
    page = client.post(
        "/accounts/tokens/",
        {"name": "Payroll", "scopes": ["timesheets:read"], "expires_on": "2099-01-01"},
    )
    html = page.content.decode()
    token = ApiToken.objects.get(user=finance)
    assert "Copy it now" in html
    assert token.prefix in html
    again = client.get("/accounts/tokens/").content.decode()
    assert "Copy it now" not in again
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    # Nobody can revoke someone else's token.
    theirs, _ = api_token_create(user=project_manager, name="pm", scopes=["crm:read"])
    assert client.post(f"/accounts/tokens/{theirs.pk}/revoke/").status_code == 404


def test_tokens_page_names_the_bad_field(client, finance):
    client.force_login(finance)
    response = client.post("/accounts/tokens/", {"name": "x"})
    assert response.status_code == 400
    assert "scopes" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_management_command_prints_a_working_token(client, finance, uk):
    out = StringIO()
    call_command(
        "create_api_token", user=finance.email, name="cli", scopes=["ledger:read"], stdout=out
    )
    assert bearer(client, out.getvalue().strip()).get(TB).status_code == 200


def test_throttling_per_token_gives_429_with_retry_after(client, finance, uk, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"api": "2/minute"})
    _, plaintext = api_token_create(user=finance, name="t", scopes=["ledger:read"])
    bearer(client, plaintext)
    assert [client.get(TB).status_code for _ in range(2)] == [200, 200]
    throttled = client.get(TB)
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert throttled.json()["error"]["code"] == "throttled"


def _reverse(client, entry, body, key):
    return client.post(
        f"/api/v1/ledger/uk/entries/{entry.pk}/reverse/", body,
        content_type="application/json", HTTP_IDEMPOTENCY_KEY=key,
    )  # fmt: skip


def test_idempotency_key_replays_the_first_response(client, finance, uk):
    _, plaintext = api_token_create(user=finance, name="t", scopes=["ledger:write"])
    bearer(client, plaintext)
    entry = JournalEntry.objects.get()
    first = _reverse(client, entry, {"reason": "dup"}, "key-1")
    second = _reverse(client, entry, {"reason": "dup"}, "key-1")
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert JournalEntry.objects.filter(event="reversal").count() == 1
    different = _reverse(client, entry, {"reason": "other"}, "key-1")
    assert different.status_code == 422
    assert different.json()["error"]["code"] == "idempotency_key_reused"


def test_a_concurrent_duplicate_gets_409_with_retry_after(client, finance, uk):
    _, plaintext = api_token_create(user=finance, name="t", scopes=["ledger:write"])
    bearer(client, plaintext)
    entry = JournalEntry.objects.get()
    owner = f"token:{hashlib.sha256(plaintext.encode()).hexdigest()[:32]}"
    IdempotencyRecord.objects.create(
        owner=owner, key="busy", fingerprint="x", expires_at=timezone.now() + dt.timedelta(hours=1)
    )  # the first request is still running
    response = _reverse(client, entry, {"reason": "dup"}, "busy")
    assert response.status_code == 409
    assert response["Retry-After"] == "1"
    assert not JournalEntry.objects.filter(event="reversal").exists()


def test_keys_belong_to_their_caller(client, finance, admin_user, uk):
    entry = JournalEntry.objects.get()
    client.force_login(finance)
    assert _reverse(client, entry, {"reason": "a"}, "shared").status_code == 201
    client.force_login(admin_user)
    # Same key, different caller: a new request, not a replay of finance's response.
    response = _reverse(client, entry, {"reason": "b"}, "shared")
    assert "Idempotent-Replayed" not in response


def test_validation_errors_are_stored_and_replayed_too(client, finance, uk):
    client.force_login(finance)
    entry = JournalEntry.objects.get()
    first = _reverse(client, entry, {}, "k-bad")
    assert first.status_code == 400
    assert first.json()["error"]["fields"] == {"reason": ["This field is required."]}
    assert _reverse(client, entry, {}, "k-bad")["Idempotent-Replayed"] == "true"


def test_openapi_schema_validates_and_docs_are_served_locally(client, finance, tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"))
    client.force_login(finance)
    schema = client.get("/api/v1/schema/?format=json")
    assert schema.status_code == 200
    assert "/api/v1/ledger/{code}/reports/trial-balance/" in schema.json()["paths"]
    docs = client.get("/api/v1/docs/").content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist" in docs
    assert "cdn.jsdelivr" not in docs and "unpkg" not in docs

"""Personal API tokens over the API: list my own, revoke one; a revoked token is a 401 at once."""

import pytest
from rest_framework.test import APIClient

from psa.kernel.models import ApiToken
from psa.kernel.services import api_token_create
from tests.api.conftest import as_token, as_user

pytestmark = pytest.mark.django_db
TOKENS = "/api/v1/tokens/"


def _bearer(plaintext):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def test_i_list_only_my_tokens_and_never_their_secret(finance, consultant):
    mine, _ = api_token_create(user=finance, name="books sync", scopes=["ledger:read"])
    api_token_create(user=consultant, name="theirs", scopes=["timesheets:read"])
    response = as_user(finance).get(TOKENS)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["name"] for r in rows] == ["books sync"]
    assert rows[0]["scopes"] == ["ledger:read"] and rows[0]["prefix"] == mine.prefix
    assert "token_hash" not in rows[0] and "token" not in rows[0]


def test_a_revoked_token_answers_401_at_once(finance):
    token, plaintext = api_token_create(user=finance, name="ci", scopes=["ledger:read"])
    client = _bearer(plaintext)
    assert client.get("/api/v1/ledger/entities/").status_code == 200
    response = as_user(finance).post(f"{TOKENS}{token.pk}/revoke/", format="json")
    assert response.status_code == 200 and response.json()["revoked_at"]
    assert client.get("/api/v1/ledger/entities/").status_code == 401


def test_delete_revokes_and_a_token_with_the_tokens_scope_may_revoke_itself(finance):
    token, plaintext = api_token_create(user=finance, name="self", scopes=["tokens:write"])
    client = _bearer(plaintext)
    assert client.get(TOKENS).status_code == 200
    assert client.delete(f"{TOKENS}{token.pk}/").status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get(TOKENS).status_code == 401


def test_someone_elses_token_is_not_found_and_stays_usable(finance, consultant):
    theirs, _ = api_token_create(user=consultant, name="theirs", scopes=["timesheets:read"])
    assert as_user(finance).delete(f"{TOKENS}{theirs.pk}/").status_code == 404
    assert as_user(finance).post(f"{TOKENS}{theirs.pk}/revoke/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_a_token_without_the_tokens_scope_is_refused(finance):
    token, _ = api_token_create(user=finance, name="ro", scopes=["tokens:read"])
    client = as_token(finance, "ledger:read")
    assert client.get(TOKENS).status_code == 403
    refused = as_token(finance, "tokens:read").post(f"{TOKENS}{token.pk}/revoke/")
    assert refused.status_code == 403
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_a_body_on_revoke_is_refused_naming_the_field(finance):
    token, _ = api_token_create(user=finance, name="x", scopes=["ledger:read"])
    response = as_user(finance).post(f"{TOKENS}{token.pk}/revoke/", {"reason": "x"}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["fields"]
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None

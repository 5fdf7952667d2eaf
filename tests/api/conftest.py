import pytest
from rest_framework.test import APIClient

from psa.kernel.services import api_token_create
from tests.api.world import build


@pytest.fixture
def world(finance, project_manager, consultant):
    return build(finance=finance, project_manager=project_manager, consultant=consultant)


def as_token(user, *scopes: str) -> APIClient:
    """A client calling with a real personal API token, as an integration would."""
    _, token = api_token_create(user=user, name="test", scopes=list(scopes))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def as_user(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client

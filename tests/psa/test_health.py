import pytest

from psa.kernel import health


def test_healthz_is_always_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_when_postgres_and_redis_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"postgres": "ok", "redis": "ok"}


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.django_db
def test_readyz_is_503_and_names_redis_when_redis_is_down(client, settings):
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{_closed_port()}/0",
        }
    }
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["postgres"] == "ok"
    assert body["checks"]["redis"].startswith("ConnectionError")


@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_readyz_is_503_and_names_postgres_when_postgres_is_down(client, settings):
    broken = {**settings.DATABASES["default"], "HOST": "127.0.0.1", "PORT": str(_closed_port())}
    settings.DATABASES = {**settings.DATABASES, "default": broken}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["postgres"].startswith("OperationalError")
    assert response.json()["checks"]["redis"] == "ok"


def test_check_functions_report_none_when_healthy(db):
    assert health.check_postgres() is None
    assert health.check_redis() is None

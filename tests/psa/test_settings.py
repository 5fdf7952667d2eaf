"""Production refuses to start with development defaults."""

import os
import subprocess
import sys

from django.conf import settings

GOOD_KEY = "k" * 20 + "-random-enough-production-secret-value-0123456789"


def _import_production(**env_overrides):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/psa",
        REDIS_URL="redis://127.0.0.1:6379/0",
        DJANGO_SETTINGS_MODULE="psa.settings.production",
    )
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=60,
    )


def test_production_refuses_the_development_secret_key():
    result = _import_production()
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_debug():
    result = _import_production(SECRET_KEY=GOOD_KEY, DEBUG="true")
    assert result.returncode != 0
    assert "DEBUG must be off in production" in result.stderr


def test_production_refuses_missing_service_urls():
    result = _import_production(SECRET_KEY=GOOD_KEY, DATABASE_URL="")
    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr


def test_production_starts_with_real_settings():
    result = _import_production(SECRET_KEY=GOOD_KEY, PUBLIC_BASE_URL="https://psa.example.com")
    assert result.returncode == 0, result.stderr


def test_tests_use_their_own_redis_database():
    test_db = os.environ.get("TEST_REDIS_DB", "15")
    assert settings.CACHES["default"]["LOCATION"].endswith(f"/{test_db}")
    assert settings.CELERY_BROKER_URL.endswith(f"/{test_db}")
    assert not settings.REDIS_URL.endswith(f"/{test_db}")

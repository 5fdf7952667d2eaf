"""The test suite: real PostgreSQL and Redis, fast hashing, e-mail kept in memory."""

from urllib.parse import urlsplit, urlunsplit

from .base import *  # noqa: F403
from .base import CACHES, REDIS_URL, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = env.path("TEST_MEDIA_ROOT", default="/tmp/psa-test-media")  # noqa: S108


def _redis_db(url: str, db: int) -> str:
    """The same Redis server, another logical database, so tests never touch dev data."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


TEST_REDIS_URL = _redis_db(REDIS_URL, env.int("TEST_REDIS_DB", default=15))
CACHES["default"]["LOCATION"] = TEST_REDIS_URL
# One key space per xdist worker (a worker process a test starts inherits it): the clock's
# offset, throttles and heartbeats of parallel tests never meet.
CACHES["default"]["KEY_PREFIX"] = "psa-test-" + env.str("PYTEST_XDIST_WORKER", default="main")
CELERY_BROKER_URL = TEST_REDIS_URL
LOGGING = {"version": 1, "disable_existing_loggers": False}

# What lies outside (accounting endpoint, webhook receivers) is a local server in the tests;
# the tests of the guard itself clear this list.
OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]

# Static files come straight from the finders; the suite never runs collectstatic.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True

# Tests drive the scheduled jobs with a clock they control (psa/kernel/clock.py).
CLOCK_CONTROL = True

# The acceptance test runs a worker and beat on a queue of their own, mailing its SMTP server.
CELERY_TASK_DEFAULT_QUEUE = env.str("TEST_CELERY_QUEUE", default="celery")
if env.str("TEST_EMAIL_URL", default=""):
    vars().update(env.email_url("TEST_EMAIL_URL"))

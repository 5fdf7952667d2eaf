"""Production: refuses to start without a real SECRET_KEY or with DEBUG on."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DEBUG, DEV_SECRET_KEY, LOGGING, PUBLIC_BASE_URL, SECRET_KEY, env, service_url

if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production: unset DEBUG or set DEBUG=false.")
if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 40 or SECRET_KEY.startswith("django-insecure"):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 40 characters in production "
        '(e.g. python -c "import secrets; print(secrets.token_urlsafe(50))").'
    )
# Production never falls back to the embedded servers' file.
service_url("DATABASE_URL", allow_dev_file=False)
service_url("REDIS_URL", allow_dev_file=False)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
_https = PUBLIC_BASE_URL.startswith("https://")
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_https)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _https else 0)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
LOGGING["handlers"]["console"]["formatter"] = env.str("LOG_FORMAT", default="json")
CLOCK_CONTROL = False  # real time only

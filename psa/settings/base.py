"""Settings shared by every environment. Values come from the environment."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import environ

BASE_DIR = Path(__file__).resolve().parents[2]
DATA_DIR = BASE_DIR / ".data"

env = environ.Env()

# Development only: the dev tools write the URLs of the embedded servers they started here,
# so a plain `manage.py` in another terminal finds them. Production never reads this file.
DEV_SERVICES_ENV = DATA_DIR / "services.env"
DEV_SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=False)
# Only the demo and tests may offset the clock (psa/kernel/clock.py); never production.
CLOCK_CONTROL = False
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL]

DEFAULT_CURRENCY = env.str("DEFAULT_CURRENCY", default="EUR").upper()
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
LANGUAGE_CODE = "en-gb"
USE_I18N = True
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    # The floors, bottom up (README, Architecture); import-linter keeps imports pointing down.
    "psa.kernel",
    "ledger",
    "crm",
    "projects",
    "timesheets",
    "billing",
    "psa.automation",
]

MIDDLEWARE = [
    "psa.kernel.middleware.CorrelationIdMiddleware",
    "psa.kernel.middleware.ApiEdgeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "psa.kernel.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "psa.kernel.middleware.IdempotencyMiddleware",
    "psa.kernel.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "psa.urls"
WSGI_APPLICATION = "psa.wsgi.application"
ASGI_APPLICATION = "psa.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "psa.kernel.context_processors.navigation",
            ],
        },
    },
]


def _dev_service_url(name: str) -> str | None:
    if not DEV_SERVICES_ENV.exists():
        return None
    for line in DEV_SERVICES_ENV.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == name:
            return value
    return None


def service_url(name: str, *, allow_dev_file: bool = True) -> str:
    """DATABASE_URL / REDIS_URL from the environment, else from the running embedded servers."""
    from django.core.exceptions import ImproperlyConfigured

    value = env.str(name, default="") or (_dev_service_url(name) if allow_dev_file else None)
    if not value:
        raise ImproperlyConfigured(
            f"{name} is not set. Set it, or start the embedded servers with "
            "`python3 dev.py services` (the run and test commands do this for you)."
        )
    return value


DATABASE_URL = service_url("DATABASE_URL")
REDIS_URL = service_url("REDIS_URL")

DATABASES = {"default": env.db_url_config(DATABASE_URL)}
# A Unix-socket directory may be given URL-encoded as the host (postgres://u@%2Fpath/db).
DATABASES["default"]["HOST"] = unquote(DATABASES["default"]["HOST"])
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "psa",
        "TIMEOUT": 300,
    }
}

AUTH_USER_MODEL = "psa.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed logins per (account, address) before each further attempt must wait; the wait
# doubles with every further failure, up to LOGIN_MAX_DELAY seconds.
LOGIN_FAILURES_BEFORE_DELAY = env.int("LOGIN_FAILURES_BEFORE_DELAY", default=5)
LOGIN_MAX_DELAY = env.int("LOGIN_MAX_DELAY", default=900)

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="PSA <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Outbound HTTP to user-given addresses (webhooks, the accounting endpoint) reaches public
# addresses only (psa.kernel.outbound). Networks (10.1.2.0/24) or host names listed here are
# allowed too: e.g. an accounting system inside the office network.
OUTBOUND_ALLOWED_NETWORKS = env.list("OUTBOUND_ALLOWED_NETWORKS", default=[])
# Seconds an SMTP connection may take before a send fails (Django's default waits forever).
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Points the official stripe client at another host (the local fake Stripe in tests).
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
# Seconds a call to Stripe may take (they run inside web requests: at most 10).
STRIPE_TIMEOUT_SECONDS = min(env.float("STRIPE_TIMEOUT_SECONDS", default=10.0), 10.0)
# The legal entity whose Stripe account this is (its code); needed for payouts when several
# entities exist.
STRIPE_LEGAL_ENTITY = env.str("STRIPE_LEGAL_ENTITY", default="")
# Autopay: days after a declined off-session charge on which it is tried again; then it stops
# and finance is told.
AUTOPAY_RETRY_DAYS = env.list("AUTOPAY_RETRY_DAYS", cast=int, default=[1, 3, 7])
# Requests per address and minute on the public pay page.
PAY_PAGE_RATE_LIMIT = env.int("PAY_PAGE_RATE_LIMIT", default=60)

# --- Celery (psa/celery.py reads the CELERY_ names) ---------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# A task is acknowledged only once it finished, so a worker killed mid-task hands it to
# another worker: every task must therefore be idempotent (see STYLE.md rule 8).
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The API's largest multipart body (a receipt of at most 10 MB and its form fields); JSON
# bodies are held to DATA_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MB).
API_MAX_UPLOAD_BYTES = env.int("API_MAX_UPLOAD_BYTES", default=11 * 1024 * 1024)

# Nobody approves their own time (admins and finance included); a one-person firm, where
# nobody else could, sets this to True.
TIME_SELF_APPROVAL = env.bool("TIME_SELF_APPROVAL", default=False)

CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
# Redis re-delivers unacknowledged messages after this; it must exceed the hard time limit,
# or a long task would run twice while the first run is still going.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- REST framework ---------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "psa.kernel.api_auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "psa.kernel.api_auth.TokenScope",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["psa.kernel.api_auth.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": env.str("API_RATE_LIMIT", default="1200/minute")},
    "DEFAULT_PAGINATION_CLASS": "psa.kernel.api_auth.Pagination",
    # A list without its own backends still refuses an ``ordering`` it cannot honour.
    "DEFAULT_FILTER_BACKENDS": ["psa.kernel.api_fields.OrderingGuard"],
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["psa.kernel.renderers.JSONRenderer"],
    # JSON is the one request body (the receipt upload takes multipart: its own view).
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "psa.kernel.api_schema.AutoSchema",
    "EXCEPTION_HANDLER": "psa.kernel.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PSA API",
    "DESCRIPTION": (
        "Work to cash: CRM, projects, timesheets, billing and books. Authenticate with a "
        "personal API token (`Authorization: Bearer psa_…`, created under Account → API "
        "tokens) or a browser session. Every POST accepts an `Idempotency-Key`. Errors have "
        'one shape: `{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs describe the API; they reveal no data, so they are public.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Every operation documents its 4xx with the error shape; request bodies are closed.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "psa.kernel.api_schema.document_errors",
        "psa.api_docs.describe_operations",
    ],
    # One named enum per choice set, so clients get stable type names.
    "ENUM_NAME_OVERRIDES": {
        "ProjectStatusEnum": "projects.models.ProjectStatus",
        "MilestoneStatusEnum": "projects.models.MilestoneStatus",
        "EntryStatusEnum": "timesheets.models.EntryStatus",
        "InvoiceStatusEnum": "billing.models.InvoiceStatus",
        "InvoiceKindEnum": "billing.models.InvoiceKind",
        "LineKindEnum": "billing.models.LineKind",
        "FeeKindEnum": "billing.models.FeeKind",
        "PeriodAnchorEnum": "billing.models.PeriodAnchor",
        "BillingRunStatusEnum": "billing.models.BillingRunStatus",
        "JobRunStatusEnum": "psa.automation.models.JobRunStatus",
        "DeliveryStatusEnum": "psa.kernel.models.DeliveryStatus",
        "LeadStatusEnum": "crm.models.LeadStatus",
        "OpportunityStageEnum": "crm.models.OpportunityStage",
        "OpenStageEnum": "crm.api.OPEN_STAGES",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Logging: one line per event, carrying the request/job correlation id -----------------
LOG_FORMAT = env.str("LOG_FORMAT", default="text")  # "text" or "json"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"correlation": {"()": "psa.kernel.logging.CorrelationIdFilter"}},
    "formatters": {
        "text": {
            "format": "%(asctime)s %(levelname)-7s %(name)s [%(correlation_id)s] %(message)s",
        },
        "json": {"()": "psa.kernel.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["correlation"],
            "formatter": LOG_FORMAT,
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}

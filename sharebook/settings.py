"""ShareBook settings, read from the environment (see the README's "Settings")."""

import os
import secrets
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def read_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(
        f"{name} must be a boolean (1/0, true/false), not {value!r}"
    )


def read_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be an integer, not {value!r}"
        ) from None


def read_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def read_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def read_rate(name: str, default: str) -> str | None:
    value = os.environ.get(name) or default
    if value.lower() == "off":
        return None
    count, _, period = value.partition("/")
    if not (count.isdigit() and period and period[0] in "smhd"):
        raise ImproperlyConfigured(
            f'{name} must be a rate such as "30/min" or "off", not {value!r}'
        )
    return value


def read_secret_key() -> str:
    """Take SECRET_KEY from the environment, or keep a generated one on disk.

    A generated key lets a fresh checkout run without set-up; it stays stable
    across restarts so tokens and sessions survive them.
    """
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = BASE_DIR / ".secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


# PRODUCTION=1 turns on everything `manage.py check --deploy` asks for; each
# setting below can still be set on its own.
PRODUCTION = read_bool("PRODUCTION")
if PRODUCTION and not os.environ.get("SECRET_KEY"):
    raise ImproperlyConfigured("PRODUCTION=1 needs SECRET_KEY from the environment")
SECRET_KEY = read_secret_key()
DEBUG = read_bool("DEBUG")
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when PRODUCTION=1")
ALLOWED_HOSTS = read_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_q",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "outbox",
    "places",
    "books",
    "notifications",
]

MIDDLEWARE = [
    # First, so that the share latency it measures includes the others.
    "sharebook.metrics.ShareMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "sharebook.urls"
WSGI_APPLICATION = "sharebook.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


# Database: SQLite in the project folder unless DATABASE_URL says otherwise.

SQLITE_BUSY_TIMEOUT_S = 20


def read_database() -> dict:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    database = dj_database_url.parse(url, conn_max_age=read_int("CONN_MAX_AGE", 0))
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers run beside the one writer; IMMEDIATE takes the write
        # lock when a transaction starts, so two writers queue on the busy
        # timeout instead of failing with "database is locked" on upgrade.
        database["OPTIONS"] = {
            "timeout": SQLITE_BUSY_TIMEOUT_S,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # Tests share their database with a qcluster process, so it needs a
        # file; one per test run, so that runs side by side do not collide.
        test_file = (
            Path(tempfile.gettempdir()) / f"sharebook-test-{os.getpid()}.sqlite3"
        )
        database["TEST"] = {"NAME": str(test_file)}
    return database


DATABASES = {"default": read_database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

PASSWORD_CHECKS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{PASSWORD_CHECKS}.UserAttributeSimilarityValidator"},
    {"NAME": f"{PASSWORD_CHECKS}.MinimumLengthValidator"},
    {"NAME": f"{PASSWORD_CHECKS}.CommonPasswordValidator"},
    {"NAME": f"{PASSWORD_CHECKS}.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
# Serve uploaded pictures from Django itself; turn off behind a web server.
SERVE_MEDIA = read_bool("SERVE_MEDIA", default=True)

# Uploaded files above this size are spooled to disk instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024


# REST API

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticatedOrReadOnly",
    ],
    "PAGE_SIZE": 20,
    "DEFAULT_PAGINATION_CLASS": "sharebook.pagination.PageNumberPagination",
    # JSON only, errors included: /api/docs/ replaces DRF's browsable pages.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "sharebook.errors.handle_api_exception",
    "DEFAULT_SCHEMA_CLASS": "sharebook.schema.AutoSchema",
    # Proxies in front of us whose X-Forwarded-For the throttles may trust; 0
    # throttles by the connecting address, which a client cannot forge.
    "NUM_PROXIES": read_int("NUM_PROXIES", 0),
    "DEFAULT_PARSER_CLASSES": [
        "sharebook.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}

# Requests per user (or per address when signed out) and period, as DRF
# writes them ("30/min", "10/hour"); "off" turns a limit off. Counted in the
# cache: shared between processes only with REDIS_URL (see CACHES below).
THROTTLE_RATES = {
    "share": read_rate("THROTTLE_SHARE", "30/min"),
    "sign_up": read_rate("THROTTLE_SIGNUP", "10/hour"),
    "token": read_rate("THROTTLE_TOKEN", "20/min"),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "ShareBook API",
    "DESCRIPTION": (
        "Share physical books at places. Authenticate with "
        "`Authorization: Token <key>` (POST /api/auth/token/)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/",
    "COMPONENT_SPLIT_REQUEST": True,
    # The docs page loads Swagger UI from this server, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "sharebook.schema.add_list_extras",
    ],
}

BOOKS = {
    "MIN_PICTURES": read_int("BOOKS_MIN_PICTURES", 0),
    "MAX_PICTURES": read_int("BOOKS_MAX_PICTURES", 8),
    "MAX_PICTURE_BYTES": read_int("BOOKS_MAX_PICTURE_MB", 10) * 1024 * 1024,
    # New books wait for a moderator's approval before anyone sees them.
    "REQUIRE_APPROVAL": read_bool("BOOKS_REQUIRE_APPROVAL", False),
}

PLACES = {
    # Distances are stored only between places at most this far apart.
    "DISTANCE_RADIUS_KM": read_int("PLACES_DISTANCE_RADIUS_KM", 50),
}

NOTIFICATIONS = {
    "BACKEND": os.environ.get(
        "NOTIFICATIONS_BACKEND", "notifications.backends.LoggingBackend"
    ),
    "BATCH_SIZE": read_int("NOTIFICATIONS_BATCH_SIZE", 500),
    "DEFAULT_RADIUS_KM": 10,
    # Unset: derived from Q_TIMEOUT (see notifications/conf.py).
    "TIMEOUT_S": read_float("NOTIFICATIONS_TIMEOUT_S", None),
    "CONCURRENCY": read_int("NOTIFICATIONS_CONCURRENCY", 16),
    "SEND_BUDGET_S": read_float("NOTIFICATIONS_SEND_BUDGET_S", None),
    "GIVE_UP_AFTER_H": read_float("NOTIFICATIONS_GIVE_UP_AFTER_H", 24),
    # FCM HTTP v1: a service-account JSON file; the project defaults to its own.
    "FCM_CREDENTIALS": os.environ.get("NOTIFICATIONS_FCM_CREDENTIALS", ""),
    "FCM_PROJECT_ID": os.environ.get("NOTIFICATIONS_FCM_PROJECT_ID", ""),
    "FCM_URL": os.environ.get("NOTIFICATIONS_FCM_URL", "https://fcm.googleapis.com"),
    "EXPO_URL": os.environ.get(
        "NOTIFICATIONS_EXPO_URL", "https://exp.host/--/api/v2/push/send"
    ),
    "EXPO_ACCESS_TOKEN": os.environ.get("NOTIFICATIONS_EXPO_ACCESS_TOKEN", ""),
    # Web Push: a VAPID private key (PEM file or base64url) and a contact URI.
    "WEBPUSH_VAPID_PRIVATE_KEY": os.environ.get(
        "NOTIFICATIONS_WEBPUSH_VAPID_PRIVATE_KEY", ""
    ),
    "WEBPUSH_VAPID_SUBJECT": os.environ.get("NOTIFICATIONS_WEBPUSH_VAPID_SUBJECT", ""),
    "WEBPUSH_HOSTS": read_list(
        "NOTIFICATIONS_WEBPUSH_HOSTS",
        [
            "fcm.googleapis.com",
            "push.services.mozilla.com",
            "notify.windows.com",
            "push.apple.com",
        ],
    ),
    "WEBPUSH_REQUIRE_HTTPS": read_bool("NOTIFICATIONS_WEBPUSH_REQUIRE_HTTPS", True),
}


# Background work: the outbox and its relay on django-q2.

Q_TIMEOUT_S = read_int("Q_TIMEOUT", 120)
Q_WORKERS = read_int("Q_WORKERS", 2)

OUTBOX = {
    "BATCH_SIZE": read_int("OUTBOX_BATCH_SIZE", 50),
    "MAX_ATTEMPTS": read_int("OUTBOX_MAX_ATTEMPTS", 10),
    "LEASE_S": read_float("OUTBOX_LEASE_S", 300),
    "BACKOFF_BASE_S": read_float("OUTBOX_BACKOFF_BASE_S", 2),
    "BACKOFF_MAX_S": read_int("OUTBOX_BACKOFF_MAX_S", 600),
    # A drain stops claiming after this long, well inside django-q2's timeout.
    "DRAIN_BUDGET_S": read_float("OUTBOX_DRAIN_BUDGET_S", Q_TIMEOUT_S / 2),
    # Nudges from one process closer together than this are coalesced.
    "NUDGE_INTERVAL_S": read_float("OUTBOX_NUDGE_INTERVAL_S", 1.0),
    "RETENTION_DAYS": read_int("OUTBOX_RETENTION_DAYS", 7),
    "HANDLER_MODULES": tuple(read_list("OUTBOX_HANDLER_MODULES", [])),
    "INLINE": read_bool("OUTBOX_INLINE", False),
}

Q_CLUSTER = {
    "name": "sharebook",
    "workers": Q_WORKERS,
    # Tasks the cluster takes from the broker ahead of its workers; kept small
    # so queued drains do not pile up behind running ones.
    "queue_limit": Q_WORKERS,
    "timeout": Q_TIMEOUT_S,
    "retry": read_int("Q_RETRY", Q_TIMEOUT_S * 2),
    "max_attempts": 3,
    "poll": 0.2,
    "catch_up": False,
    "save_limit": 250,
    "label": "Background tasks",
}
# Operators: /health/ answers 503 when the oldest due delivery waited longer.
HEALTH = {"MAX_LAG_S": read_float("HEALTH_MAX_LAG_S", 300)}
if not HEALTH["MAX_LAG_S"] > 0:
    raise ImproperlyConfigured("HEALTH_MAX_LAG_S must be a positive number of seconds")

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
    # One cache for every process, so the throttles count across all of them.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
        }
    }
else:
    Q_CLUSTER["orm"] = "default"


LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}


# Security. Off on a laptop (plain http on 127.0.0.1); PRODUCTION=1 turns all
# of it on, and each variable overrides it.
CSRF_FAILURE_VIEW = "sharebook.error_views.csrf_failure"
SECURE_SSL_REDIRECT = read_bool("SECURE_SSL_REDIRECT", PRODUCTION)
# Load balancers probe these over plain http.
SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^metrics$"]
SECURE_HSTS_SECONDS = read_int("SECURE_HSTS_SECONDS", 31536000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = read_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = read_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
SESSION_COOKIE_SECURE = read_bool("SESSION_COOKIE_SECURE", PRODUCTION)
CSRF_COOKIE_SECURE = read_bool("CSRF_COOKIE_SECURE", PRODUCTION)
CSRF_TRUSTED_ORIGINS = read_list("CSRF_TRUSTED_ORIGINS", [])
if read_bool("BEHIND_TLS_PROXY"):
    # Only behind a proxy that sets this header itself and strips the client's.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

"""ActiveLog settings.

Every value comes from the environment (django-environ) with an embedded default, so a fresh
checkout runs with no services at all: SQLite, local-memory cache, media on the local disk.
Setting DATABASE_URL / REDIS_URL switches the real components on, and DJANGO_ENV=production
turns on the strict profile, where the secrets have no defaults.
"""

import logging
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from activelog import __version__
from activelog.s3 import s3_storage

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))

ENVIRONMENT = env.str("DJANGO_ENV", default="development")
if ENVIRONMENT not in {"development", "test", "production"}:
    raise ImproperlyConfigured(
        f"DJANGO_ENV must be development, test or production (got {ENVIRONMENT!r})"
    )
PRODUCTION = ENVIRONMENT == "production"
APP_VERSION = env.str("APP_VERSION", default=__version__)


def required(name: str) -> str:
    """A variable the production profile cannot start without."""
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"{name} is required when DJANGO_ENV=production but is not set")
    return value


# --- Core -------------------------------------------------------------------------------------

DEBUG = False if PRODUCTION else env.bool("DJANGO_DEBUG", default=ENVIRONMENT == "development")

if PRODUCTION:
    SECRET_KEY = required("DJANGO_SECRET_KEY")
    JWT_SIGNING_KEY = required("JWT_SIGNING_KEY")
    required("DATABASE_URL")
    ALLOWED_HOSTS = [h.strip() for h in required("DJANGO_ALLOWED_HOSTS").split(",") if h.strip()]
else:
    # Development-only fallbacks: never used when DJANGO_ENV=production.
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-insecure-secret-key-do-not-use-in-production")
    JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="dev-insecure-jwt-signing-key-do-not-use-in-production")
    ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "accounts",
    "activities",
    "health",
]

MIDDLEWARE = [
    "activelog.middleware.RequestIDMiddleware",
    "health.middleware.HealthCheckMiddleware",  # before host validation and the HTTPS redirect
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "activelog.middleware.RequestLogMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "activelog.urls"
WSGI_APPLICATION = "activelog.wsgi.application"
# API paths have no trailing slash; never redirect to add one (it would turn a POST into a GET).
APPEND_SLASH = False

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
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] in {
    "django.db.backends.postgresql",
    "django.db.backends.postgresql_psycopg2",
}:
    # django-prometheus's instrumented backend (>= 2.5.0 works with psycopg pools).
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
    if env.bool("DATABASE_POOL", default=True):
        # One psycopg pool per process. Size it to the number of request threads: every extra
        # connection is multiplied by processes x tasks against RDS max_connections.
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool owns connection lifetime
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=4),
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int(
        "DATABASE_CONNECT_TIMEOUT", default=5
    )
    # The app's database user, from the secret that RDS rotation updates (ECS injects its username
    # and password fields at task start), overriding the credentials inside DATABASE_URL.
    if env.str("DATABASE_USER", default=""):
        DATABASES["default"]["USER"] = env.str("DATABASE_USER")
    if env.str("DATABASE_PASSWORD", default=""):
        DATABASES["default"]["PASSWORD"] = env.str("DATABASE_PASSWORD")
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.sqlite3"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and sessions -----------------------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",  # django-redis + metrics
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="activelog"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                # A hung Redis must never hang a request: fail fast and fall back.
                "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
                "SOCKET_TIMEOUT": env.float("REDIS_SOCKET_TIMEOUT", default=0.5),
                # Cache failures degrade to "miss" instead of a 500 (throttles then fail open).
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    DJANGO_REDIS_LOGGER = "activelog.cache"  # rate-limited by activelog.logging.CacheOutageFilter
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {
        "default": {
            "BACKEND": "django_prometheus.cache.backends.locmem.LocMemCache",
            "LOCATION": "activelog",
        }
    }

# Statistics answers are cached per user under a versioned key (see activities/stats_cache.py);
# this only bounds how long unused entries occupy memory.
STATS_CACHE_SECONDS = env.int("STATS_CACHE_SECONDS", default=3600)

# --- Auth -------------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.UsernameOrEmailBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "email")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_TOKEN_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_TOKEN_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Tokens carry a hash of the password: changing it revokes every token issued before.
    "CHECK_REVOKE_TOKEN": True,
}

# --- API --------------------------------------------------------------------------------------

THROTTLE_SCOPES = {
    # scope: default rate. Each can be overridden as THROTTLE_RATE_<SCOPE>, e.g. THROTTLE_RATE_LOGIN.
    "login": "5/min",
    "register": "3/min",
    "refresh": "30/min",
    "export": "20/hour",
    "user": "1000/hour",
    "anon": "100/hour",
}
THROTTLE_RATES = {
    scope: env.str(f"THROTTLE_RATE_{scope.upper()}", default=rate) for scope, rate in THROTTLE_SCOPES.items()
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "activelog.api.throttling.UserRateThrottle",
        "activelog.api.throttling.AnonRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": THROTTLE_RATES,
    # Behind the ALB exactly one proxy appends the client address to X-Forwarded-For; the
    # right-most entry is the one it saw, anything to its left is client-controlled.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=1 if PRODUCTION else 0),
    "DEFAULT_PAGINATION_CLASS": "activelog.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "activelog.api.errors.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": False,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "ActiveLog API",
    "DESCRIPTION": "Log activities, see statistics, streaks and records. Errors are RFC 9457 problem details.",
    "VERSION": APP_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
}

# --- Background tasks (Celery) ---------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# No broker (the embedded default): run tasks inline, so reports work without a worker.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True  # job state lives in the database
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves the message for another
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # long tasks: don't hoard messages
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Longer than the hard time limit, or Redis re-delivers a task that is still running.
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + 300,
    "socket_timeout": 5,
    "socket_connect_timeout": 5,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_DEFAULT_QUEUE = "activelog"
CELERY_BEAT_SCHEDULE = {
    "cleanup-expired-exports": {"task": "activities.tasks.cleanup_expired_exports", "schedule": 60 * 60},
}

# --- Metrics -------------------------------------------------------------------------------------

# /metrics requires "Authorization: Bearer <METRICS_TOKEN>" when set (it is never routed by the
# public load balancer either).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
PROMETHEUS_EXPORT_MIGRATIONS = False  # no database access at start-up

# --- Health checks ----------------------------------------------------------------------------

HEALTH_PROBE_TIMEOUT = env.float("HEALTH_PROBE_TIMEOUT", default=1.0)
HEALTH_CACHE_SECONDS = env.float("HEALTH_CACHE_SECONDS", default=5.0)
# Ask the EC2 instance metadata service for the instance id (only meaningful on EC2; on Fargate
# the ECS task metadata endpoint is used automatically).
HEALTH_EC2_METADATA = env.bool("HEALTH_EC2_METADATA", default=False)

# --- Object storage (switched on by AWS_STORAGE_BUCKET_NAME) ------------------------------------

AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default=env.str("AWS_REGION", default=""))
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="")

# --- Internationalisation ---------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    # Media: private S3 objects with presigned links when AWS_STORAGE_BUCKET_NAME is set (below),
    # otherwise the local disk with links that still expire (activelog/storage.py).
    "default": {"BACKEND": "activelog.storage.SignedFileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = s3_storage(
        bucket=AWS_STORAGE_BUCKET_NAME, region=AWS_S3_REGION_NAME, endpoint_url=AWS_S3_ENDPOINT_URL
    )

# Outside production there is no collectstatic step: serve from the app directories directly.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION

ADMIN_URL = env.str("DJANGO_ADMIN_URL", default="admin/")
if not ADMIN_URL.endswith("/"):
    ADMIN_URL += "/"

# Request bodies: JSON payloads are small; uploads get their own limits later.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)

# --- Logging ----------------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
logging.captureWarnings(True)  # Python warnings become log records (JSON), not stray stderr text
LOG_FORMAT = env.str("LOG_FORMAT", default="json")  # "plain" for human-friendly local output
_LOG_FILTERS = ["request_id", "trace_context"]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "activelog.logging.RequestIDFilter"},
        "trace_context": {"()": "activelog.logging.TraceContextFilter"},
        "cache_outage": {"()": "activelog.logging.CacheOutageFilter", "interval_seconds": 60},
    },
    "formatters": {
        "json": {"()": "activelog.logging.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [request_id=%(request_id)s] %(message)s"},
    },
    "handlers": {
        # One JSON object per line on stdout: ECS's awslogs driver ships it to CloudWatch.
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "plain" if LOG_FORMAT == "plain" else "json",
            "filters": _LOG_FILTERS,
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # 4xx are answered as problems; the API logs its own 5xx with the request id.
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "INFO"},
        "activelog.cache": {"filters": ["cache_outage"]},
    },
}

# watchtower ships the same JSON lines to CloudWatch Logs when set. The log group is created by
# the infrastructure; each process writes its own stream (activelog/observability.py).
CLOUDWATCH_LOG_GROUP = env.str("CLOUDWATCH_LOG_GROUP", default="")
CLOUDWATCH_SEND_INTERVAL = env.float("CLOUDWATCH_SEND_INTERVAL", default=2.0)

# gunicorn and Celery workers freeze their start-up objects out of garbage collection once the
# app is loaded (activelog/warmup.py).
GC_FREEZE = env.bool("GC_FREEZE", default=True)

# --- Production hardening ---------------------------------------------------------------------

if PRODUCTION:
    # TLS ends at the load balancer, which tells us the original scheme.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_HTTPONLY = True
    X_FRAME_OPTIONS = "DENY"

"""Django itself: debug, apps, middleware, URLs, templates, languages, request limits."""

from activelog.settings.environment import BASE_DIR, ENVIRONMENT, PRODUCTION, env

DEBUG = False if PRODUCTION else env.bool("DJANGO_DEBUG", default=ENVIRONMENT == "development")

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
    "django_htmx",
    "csp",
    "accounts",
    "activities",
    "health",
]

MIDDLEWARE = [
    "activelog.middleware.RequestIDMiddleware",
    "health.middleware.HealthCheckMiddleware",  # before host validation and the HTTPS redirect
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "activelog.web.middleware.PermissionsPolicyMiddleware",
    "activelog.web.middleware.CSPMiddleware",  # django-csp's, the policy built once
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "activelog.middleware.LengthRequiredMiddleware",  # before anything reads the body
    # Counts each response by status and view. Outside the middlewares that may load the session
    # or the user: a 503 they produce (the database down) is counted like a view's. It still sees
    # the view name (resolved later, read when the response passes back through).
    "activelog.middleware.MetricsMiddleware",  # django-prometheus's PrometheusAfterMiddleware
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "activelog.web.middleware.MessageMiddleware",  # Django's, the storage made when used
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "activelog.web.middleware.UserTimezoneMiddleware",
    "activelog.web.middleware.DomainErrorPageMiddleware",
    "activelog.middleware.DatabaseUnavailableMiddleware",
    "activelog.middleware.RequestLogMiddleware",
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
                "django.template.context_processors.csrf",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "libraries": {"ui": "activelog.web.templatetags"},
        },
    },
]

ADMIN_URL = env.str("DJANGO_ADMIN_URL", default="admin/")
if not ADMIN_URL.endswith("/"):
    ADMIN_URL += "/"

LANGUAGE_CODE = "en-us"
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Request bodies: JSON payloads are small; uploads get their own limits later.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)

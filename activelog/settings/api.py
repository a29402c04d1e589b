"""Authentication (users, passwords, JWT) and the JSON API: DRF, throttles, the OpenAPI schema."""

from datetime import timedelta

from activelog.settings.environment import APP_VERSION, PRODUCTION, env
from activelog.settings.security import JWT_SIGNING_KEY

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.UsernameOrEmailBackend"]
# Argon2id (argon2-cffi) for new and changed passwords; older PBKDF2 hashes still verify and are
# re-hashed with Argon2id at the next successful sign-in (Django upgrades them on check_password).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "email")},
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_TOKEN_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_TOKEN_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Tokens carry a keyed fingerprint of the password instead (accounts/tokens.py): changing it
    # revokes every token issued before, and the claim reveals nothing about the password.
    "CHECK_REVOKE_TOKEN": False,
}

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
        "accounts.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's negotiation, its answer kept per Accept header: activelog/api/negotiation.py
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "activelog.api.negotiation.RememberedContentNegotiation",
    # DRF's JSON parser with a nesting limit (a deep document would crash json.loads): activelog/api/parsers.py
    "DEFAULT_PARSER_CLASSES": ["activelog.api.parsers.JSONParser"],
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
    "DEFAULT_SCHEMA_CLASS": "activelog.api.schema.ActiveLogAutoSchema",
    "COERCE_DECIMAL_TO_STRING": False,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "ActiveLog API",
    "DESCRIPTION": (
        "Log activities, see statistics, streaks and records.\n\n"
        "**Authentication**: `Authorization: Bearer <access token>`, the token from `POST /api/v1/auth/login` "
        "or `POST /api/v1/auth/register`. Access tokens live 15 minutes; `POST /api/v1/auth/refresh` gives a "
        "new pair and ends the old refresh token. The browser UI's session cookie works too (writes then need "
        "the `X-CSRFToken` header).\n\n"
        "**Errors** are RFC 9457 problem details (`application/problem+json`): a stable `type` URI per kind "
        "of problem, the `request_id`, and on validation problems `errors` per field or query parameter "
        "(`tags.3` for an item of a list). 401 carries `WWW-Authenticate: Bearer`; 429 and 503 carry "
        "`Retry-After` (seconds). Every response carries `X-Request-ID`.\n\n"
        "**Query parameters**: an empty value (`?start_date=`, `?limit=`) is the same as leaving the "
        "parameter out: its default applies. Unknown query parameters and unknown body fields are ignored.\n\n"
        "**Lists** take `limit` (default 20, at most 100, at least 1) and `offset` (default 0) and answer "
        "`{count, next, previous, results}`.\n\n"
        "**Values**: datetimes are RFC 3339 with an offset (`2026-03-01T07:00:00Z`), dates `YYYY-MM-DD`, "
        "`distance_km` a number with at most 2 decimals."
    ),
    "VERSION": APP_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
}

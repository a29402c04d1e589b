"""The browser UI: sign-in pages, e-mail, the Content Security Policy and the Permissions-Policy."""

from urllib.parse import urlparse

from activelog.settings.environment import PRODUCTION, env
from activelog.settings.storage import AWS_S3_ENDPOINT_URL, AWS_S3_REGION_NAME, AWS_STORAGE_BUCKET_NAME

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "home"

# E-mail (password reset links). Embedded default: printed on the console. Production: SMTP from
# EMAIL_URL, e.g. smtp+tls://USER:PASSWORD@email-smtp.eu-west-1.amazonaws.com:587 (Amazon SES).
_email = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(_email)  # EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER, ...
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ActiveLog <no-reply@activelog.localhost>")
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60 * 24)

# Photos and reports on S3 are shown through presigned links to the bucket's own origin.
_media_origins = []
if AWS_STORAGE_BUCKET_NAME:
    if AWS_S3_ENDPOINT_URL:
        endpoint = urlparse(AWS_S3_ENDPOINT_URL)
        _media_origins.append(f"{endpoint.scheme}://{endpoint.netloc}")
    else:
        region = f".{AWS_S3_REGION_NAME}" if AWS_S3_REGION_NAME else ""
        _media_origins.append(f"https://{AWS_STORAGE_BUCKET_NAME}.s3{region}.amazonaws.com")

# django-csp: no inline script or style anywhere, no eval; everything comes from this origin.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *_media_origins],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
        **({"upgrade-insecure-requests": True} if PRODUCTION else {}),
    },
    # The API docs pages (Swagger UI, Redoc) need inline script and style: they are exempt, the UI is not.
    "EXCLUDE_URL_PREFIXES": ["/api/docs", "/api/redoc"],
}

# Features the site never uses are switched off for it and anything it embeds.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=(), interest-cohort=()"
)
CSRF_FAILURE_VIEW = "activelog.views.csrf_failure"

"""Secrets, hosts, and the production hardening (DJANGO_ENV=production)."""

from activelog.settings.environment import PRODUCTION, env, required

if PRODUCTION:
    # In this order: the first one missing is the one the start-up error names.
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

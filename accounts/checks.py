"""Deployment checks for the JWT configuration (run by ``manage.py check --deploy``)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

# RFC 7518 section 3.2: an HS256 key must be at least as long as the hash output (256 bits).
MIN_JWT_KEY_LENGTH = 32


@register(Tags.security, deploy=True)
def check_jwt_signing_key(app_configs, **kwargs):
    key = (getattr(settings, "SIMPLE_JWT", {}) or {}).get("SIGNING_KEY") or ""
    problems = []
    if len(key.strip()) < MIN_JWT_KEY_LENGTH or len(set(key)) < 5:
        problems.append(
            Warning(
                f"JWT_SIGNING_KEY is shorter than {MIN_JWT_KEY_LENGTH} characters (or barely random): "
                "access and refresh tokens signed with it can be forged.",
                hint="Generate a long random value, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'.",
                id="accounts.W001",
            )
        )
    if key and key == settings.SECRET_KEY:
        problems.append(
            Warning(
                "JWT_SIGNING_KEY is the same as DJANGO_SECRET_KEY.",
                hint="Use a separate key, so rotating one does not invalidate (or expose) the other.",
                id="accounts.W002",
            )
        )
    if key.startswith("dev-insecure-"):
        problems.append(
            Warning(
                "JWT_SIGNING_KEY is the development default.",
                hint="Set JWT_SIGNING_KEY to a long random value.",
                id="accounts.W003",
            )
        )
    return problems

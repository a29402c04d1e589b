"""The environment every other settings module reads: django-environ, the project directory, the
one DJANGO_ENV switch and the variables production cannot start without."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from activelog.runtime import app_version

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
APP_VERSION = app_version()


def required(name: str) -> str:
    """A variable the production profile cannot start without."""
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(f"{name} is required when DJANGO_ENV=production but is not set")
    return value

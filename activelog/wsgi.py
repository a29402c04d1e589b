"""WSGI entry point (gunicorn activelog.wsgi)."""

import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "activelog.settings")

try:
    # gunicorn already did this in post_fork; other servers (runserver) get it here. Idempotent.
    from activelog.observability import attach_cloudwatch, configure_process

    configure_process("web")
    application = get_wsgi_application()
    attach_cloudwatch()  # after Django's logging set-up, in this (forked) process
except ImproperlyConfigured as exc:
    # One clear line instead of a traceback; exit code 4 makes gunicorn halt ("App failed to load").
    print(f"activelog: configuration error: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(4) from None

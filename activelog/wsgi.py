"""WSGI entry point (gunicorn activelog.wsgi)."""

import os
import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

from activelog.bootstrap import bootstrap_process

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "activelog.settings")

try:
    # gunicorn already did this in post_fork; other servers get it here. Idempotent.
    bootstrap_process("web")
    application = get_wsgi_application()
except ImproperlyConfigured as exc:
    # One clear line instead of a traceback; exit code 4 makes gunicorn halt ("App failed to load").
    print(f"activelog: configuration error: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(4) from None

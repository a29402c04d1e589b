import time

from django.apps import AppConfig

# Set when the process loads the app (each gunicorn worker loads it after fork: no preload).
PROCESS_STARTED = time.monotonic()


class HealthConfig(AppConfig):
    name = "health"
    verbose_name = "Health checks"

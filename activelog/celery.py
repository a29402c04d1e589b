"""The Celery application: the background worker that renders reports.

    celery -A activelog worker --loglevel INFO

Broker: CELERY_BROKER_URL (Redis). With no broker configured (the embedded default) tasks run
inline in the calling process (task_always_eager), so everything works without a worker.
Results are not stored: a job's state lives in its database row (activities.ExportJob).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "activelog.settings")

app = Celery("activelog")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

"""The Celery application: the background worker that renders reports.

    celery -A activelog worker --loglevel INFO

Broker: CELERY_BROKER_URL (Redis). With no broker configured (the embedded default) tasks run
inline in the calling process (task_always_eager), so everything works without a worker.
Results are not stored: a job's state lives in its database row (activities.ExportJob).
"""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "activelog.settings")

app = Celery("activelog")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_process_init.connect
def _configure_worker_process(**kwargs) -> None:
    """Per pool process, after fork: tracing and CloudWatch belong to this process only."""
    from activelog.observability import attach_cloudwatch, configure_process
    from activelog.warmup import freeze_loaded_objects

    configure_process("worker")
    attach_cloudwatch()
    freeze_loaded_objects("worker", import_urls=False)


@signals.worker_process_shutdown.connect
def _flush_worker_process(**kwargs) -> None:
    from activelog.observability import shutdown_process

    shutdown_process()


@signals.worker_init.connect
def _serve_worker_metrics(**kwargs) -> None:
    """The worker's own /metrics (exports completed/failed happen here, not in the web tasks):
    set CELERY_METRICS_PORT, and PROMETHEUS_MULTIPROC_DIR so all pool processes are counted."""
    port = os.environ.get("CELERY_METRICS_PORT")
    if not port:
        return
    from prometheus_client import start_http_server

    from activelog.metrics import registry

    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
    start_http_server(int(port), registry=registry())

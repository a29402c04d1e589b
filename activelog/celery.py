"""The Celery application: the background worker that renders reports.

    celery -A activelog worker --loglevel INFO

Broker: CELERY_BROKER_URL (Redis). With no broker configured (the embedded default) tasks run
inline in the calling process (task_always_eager), so everything works without a worker.
Results are not stored: a job's state lives in its database row (activities.ExportJob).
"""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "activelog.settings")


# Connected before the app is created: Celery() installs its Django fix-up, which sets Django up
# (and so imports the metrics) on this same signal, and receivers run in the order they connected.
@signals.import_modules.connect
def _bootstrap_main_process(**kwargs) -> None:
    """The worker's main process and beat, before the task modules load: the metrics directory
    only, as the main process forks the pool processes (activelog/bootstrap.py)."""
    from activelog.bootstrap import bootstrap_process

    bootstrap_process("celery")


app = Celery("activelog")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_process_init.connect
def _bootstrap_worker_process(**kwargs) -> None:
    """Per pool process, after fork: tracing and CloudWatch belong to this process only."""
    from activelog.bootstrap import bootstrap_process
    from activelog.warmup import freeze_loaded_objects

    bootstrap_process("worker")
    freeze_loaded_objects("worker", import_urls=False)


@signals.worker_process_shutdown.connect
def _flush_worker_process(**kwargs) -> None:
    """A pool process is leaving (shutdown, or replaced after max_tasks_per_child): flush, then
    fold its metrics files into the archive so a long-lived worker's scrape stays cheap."""
    from activelog.bootstrap import shutdown_process
    from activelog.multiprocess import retire_process

    shutdown_process()
    retire_process(os.getpid(), os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


@signals.beat_init.connect
def _bootstrap_beat(**kwargs) -> None:
    """beat does not fork: it traces and ships its logs itself."""
    from activelog.bootstrap import bootstrap_process

    bootstrap_process("beat")


@signals.worker_init.connect
def _serve_worker_metrics(**kwargs) -> None:
    """The worker's own /metrics (exports completed/failed happen here, not in the web tasks):
    set CELERY_METRICS_PORT, and PROMETHEUS_MULTIPROC_DIR so all pool processes are counted."""
    port = os.environ.get("CELERY_METRICS_PORT")
    if not port:
        return
    from prometheus_client import start_http_server

    from activelog.metrics import registry

    # No database-backed families here: this process forks the pool and must not hold a database
    # connection (the web's /metrics serves the report queue).
    start_http_server(int(port), registry=registry(app_sources=False))


@signals.task_postrun.connect
def _sample_pool_after_task(**kwargs) -> None:
    """The pool processes' database pools, in the worker's /metrics (at most once a second)."""
    from activelog.metrics import record_pool_usage

    record_pool_usage(sender="task_postrun")


# --- The request id crosses into the worker ------------------------------------------------
# A task queued while serving a request carries that request's id in its message headers; the
# worker's log lines for the task carry it too, so a report's lines are found from the request.
REQUEST_ID_HEADER = "activelog_request_id"
_request_id_tokens: dict[str, object] = {}


@signals.before_task_publish.connect
def _send_request_id(headers=None, **kwargs) -> None:
    from activelog.request_context import request_id_var

    request_id = request_id_var.get()
    if headers is not None and request_id != "-":
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@signals.task_prerun.connect
def _receive_request_id(task_id=None, task=None, **kwargs) -> None:
    from activelog.request_context import request_id_var

    request_id = getattr(task.request, REQUEST_ID_HEADER, None) if task is not None else None
    if request_id and task_id:
        _request_id_tokens[task_id] = request_id_var.set(str(request_id)[:200])


@signals.task_postrun.connect
def _forget_request_id(task_id=None, **kwargs) -> None:
    from activelog.request_context import request_id_var

    token = _request_id_tokens.pop(task_id, None)
    if token is not None:
        request_id_var.reset(token)

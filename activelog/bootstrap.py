"""One start-up path for every ActiveLog process: metrics, tracing and log shipping.

Each entry point calls bootstrap_process(role) before it loads the app:

    process                                   called from                                role
    gunicorn master                           gunicorn.conf.py on_starting               "gunicorn"
    gunicorn worker                           gunicorn.conf.py post_fork                 "web"
    any other WSGI server                     activelog/wsgi.py                          "web"
    manage.py (migrate, cleanup_exports, ...)  manage.py                                  "manage"
    Celery worker main process, Celery beat   activelog/celery.py, import_modules        "celery"
    Celery pool process                       activelog/celery.py, worker_process_init   "worker"
    Celery beat, once loaded                  activelog/celery.py, beat_init             "beat"

and shutdown_process() before the process exits. Each step is done at most once per process (a
forked child does its own), so calling again, from a second entry point, costs a dictionary look-up:

1. metrics: PROMETHEUS_MULTIPROC_DIR, when set, is created if missing. prometheus_client writes a
   file there for the first metric a process defines, and /tmp is an empty volume when an ECS task
   starts, so every process needs it, the one-off migrate and clean-up tasks as much as gunicorn.
   The gunicorn master also empties it: a previous run's samples must not count in this one's.
2. tracing (activelog.observability.configure_process);
3. logging: the CloudWatch handler (activelog.logging.attach_cloudwatch), once Django has
   configured logging: at once if it has, else as soon as it has (dictConfig replaces the root
   logger's handlers, so a handler attached before would be dropped).

Steps 2 and 3 are skipped in the processes that fork the workers ("gunicorn", "celery"): an
exporter's thread and socket, and a boto3 client, must belong to the process that uses them.
"""

import os
import shutil
import threading

FORKING_PARENTS = frozenset({"gunicorn", "celery"})
ROLES = FORKING_PARENTS | {"web", "worker", "beat", "manage"}

_lock = threading.Lock()
_done: dict[str, int] = {}  # step -> pid of the process that did it


def _first_time(step: str) -> bool:
    pid = os.getpid()
    if _done.get(step) == pid:
        return False
    _done[step] = pid
    return True


def bootstrap_process(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown process role {role!r}; one of {', '.join(sorted(ROLES))}")
    with _lock:
        metrics_directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if metrics_directory and _first_time("metrics"):
            if role == "gunicorn":
                shutil.rmtree(metrics_directory, ignore_errors=True)
            os.makedirs(metrics_directory, exist_ok=True)
        if role in FORKING_PARENTS:
            return
        configure_tracing, ship_logs = _first_time("tracing"), _first_time("logging")
    if configure_tracing:
        from activelog.observability import configure_process

        configure_process(role)
    if ship_logs:
        _attach_cloudwatch_once_logging_is_configured()


def shutdown_process() -> None:
    """Export the buffered spans and send the buffered log records, within the stop grace period."""
    from activelog.logging import flush_cloudwatch
    from activelog.observability import shutdown_tracing

    shutdown_tracing()
    flush_cloudwatch()


def _attach_cloudwatch_once_logging_is_configured() -> None:
    from django.apps import apps
    from django.db.models.signals import class_prepared

    from activelog.logging import attach_cloudwatch

    if apps.ready:
        attach_cloudwatch()
        return

    # django.setup() configures logging, then loads the models: the first model class is the first
    # moment after the last dictConfig that every entry point (get_wsgi_application, manage.py's
    # execute_from_command_line) passes through.
    def attach_on_first_model(**kwargs) -> None:
        class_prepared.disconnect(attach_on_first_model)
        attach_cloudwatch()

    class_prepared.connect(attach_on_first_model, weak=False)

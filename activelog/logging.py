"""Logging, configured here for every process: one JSON object per line on stdout, with the host,
the app version, the request id and, inside a traced request, the trace and span ids, so a log
line leads to its trace and its response (X-Request-ID).

- django_logging_config(): Django's LOGGING setting (activelog/settings/logging.py);
- gunicorn_logging_config(): gunicorn's own lines (gunicorn.conf.py's logconfig_dict);
- attach_cloudwatch(): the same lines shipped to CloudWatch Logs as well when CLOUDWATCH_LOG_GROUP
  is set, called per process by activelog/bootstrap.py.
"""

import contextlib
import logging
import os
import threading
import time

from gunicorn import glogging
from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from activelog.redaction import redact
from activelog.request_context import request_id_var
from activelog.runtime import app_version, host_name, placement

logger = logging.getLogger(__name__)


class RequestIDFilter(logging.Filter):
    """Adds the current request's id to every record so a log line can be tied to a response."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class TraceContextFilter(logging.Filter):
    """Adds trace_id/span_id (W3C hex) when the record is written inside a recording span."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        return True


class JsonFormatter(_JsonFormatter):
    """python-json-logger with a stable set of base fields and redaction of the whole line.

    Every line names the host and the app version: lines from many tasks and releases end up in
    one log group, and a line alone must say which of them wrote it.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("timestamp", "timestamp")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs["static_fields"] = {"host": host_name(), "version": app_version(), **kwargs.get("static_fields", {})}
        super().__init__("%(levelname)s %(name)s %(message)s", *args, **kwargs)

    def process_log_record(self, log_record):
        log_record.pop("color_message", None)  # uvicorn/celery colour duplicates
        return log_record

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class CacheOutageFilter(logging.Filter):
    """django-redis logs every ignored Redis error; while Redis is down that is every request.

    Let one warning through per interval per process, as one line without the traceback, and
    drop the repeats.
    """

    def __init__(self, interval_seconds: float = 60.0):
        super().__init__()
        self.interval = interval_seconds
        self._last_emitted = float("-inf")
        self._suppressed = 0
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._last_emitted < self.interval:
                self._suppressed += 1
                return False
            suppressed, self._suppressed, self._last_emitted = self._suppressed, 0, now
        error = record.exc_info[1] if record.exc_info else None
        cause = getattr(error, "__cause__", None) or error or record.getMessage()
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.msg = "Cache (Redis) unavailable, serving without it: %s. Repeats suppressed for %ds (%d since last)."
        record.args = (cause or "unknown error", int(self.interval), suppressed)
        record.exc_info, record.exc_text = None, None
        return True


# --- configuration ------------------------------------------------------------------------------

# Added to every record a handler writes, on stdout and to CloudWatch alike.
RECORD_FILTERS = {"request_id": RequestIDFilter, "trace_context": TraceContextFilter}
_JSON_FORMATTER = {"()": "activelog.logging.JsonFormatter"}
_PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [request_id=%(request_id)s] %(message)s"


def _stdout_handler(formatter: str, filters: list[str] | None = None) -> dict:
    handler = {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": formatter}
    if filters is not None:
        handler["filters"] = filters
    return handler


def django_logging_config(*, level: str, log_format: str) -> dict:
    """Django's LOGGING: every logger's records as JSON lines on stdout (ECS's awslogs driver
    ships them to CloudWatch), or human-friendly lines with log_format "plain"."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            **{name: {"()": f"{__name__}.{cls.__name__}"} for name, cls in RECORD_FILTERS.items()},
            "cache_outage": {"()": f"{__name__}.CacheOutageFilter", "interval_seconds": 60},
        },
        "formatters": {"json": _JSON_FORMATTER, "plain": {"format": _PLAIN_FORMAT}},
        "handlers": {"console": _stdout_handler("plain" if log_format == "plain" else "json", list(RECORD_FILTERS))},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # 4xx are answered as problems; the API logs its own 5xx with the request id.
            "django.request": {"level": "ERROR"},
            "django.server": {"level": "INFO"},
            "activelog.cache": {"filters": ["cache_outage"]},
        },
    }


def gunicorn_logging_config(*, level: str, access_log: bool) -> dict:
    """gunicorn's logconfig_dict: its lifecycle lines as JSON lines on stdout, like the app's.
    The access log stays silent unless asked for: the app's own request line says more."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": _JSON_FORMATTER},
        "handlers": {"console": _stdout_handler("json"), "error_console": _stdout_handler("json")},
        "loggers": {
            "gunicorn.error": {"handlers": ["error_console"], "level": level.upper(), "propagate": False},
            "gunicorn.access": {"handlers": ["console"] if access_log else [], "level": "INFO", "propagate": False},
        },
    }


class GunicornLogger(glogging.Logger):
    """gunicorn's logger, with its access log built only when GUNICORN_ACCESS_LOG asks for one.

    gunicorn formats an access line for every request whenever a logconfig_dict is set (ours
    always is), even when the gunicorn.access logger has no handler and the line goes nowhere:
    22.6 us per request, 1.2 us with this.
    """

    def access(self, resp, req, environ, request_time):
        if self.cfg.accesslog:
            super().access(resp, req, environ, request_time)


# --- CloudWatch Logs ------------------------------------------------------------------------------

_cloudwatch_lock = threading.Lock()
_cloudwatch_handler = None
_cloudwatch_pid: int | None = None


def attach_cloudwatch() -> None:
    """Ship this process's records to the CloudWatch Logs group CLOUDWATCH_LOG_GROUP as well
    (nothing when unset), every CLOUDWATCH_SEND_INTERVAL seconds, formatted and filtered like the
    stdout lines. The group exists already (the infrastructure owns its retention and key); the
    process writes its own stream, named after the ECS task and the process id.

    Idempotent per process. Call it after Django has configured logging (dictConfig replaces the
    root logger's handlers) and after fork (the handler's thread and boto3 client belong to one
    process): activelog/bootstrap.py does both.
    """
    global _cloudwatch_handler, _cloudwatch_pid
    with _cloudwatch_lock:
        if _cloudwatch_pid == os.getpid():
            return
        _cloudwatch_pid = os.getpid()
        _cloudwatch_handler = None
        group = os.environ.get("CLOUDWATCH_LOG_GROUP", "").strip()
        if not group:
            return
        try:
            import boto3
            import watchtower
            from botocore.config import Config

            client = boto3.client("logs", config=Config(connect_timeout=2, read_timeout=5,
                                                        retries={"max_attempts": 2}))
            handler = watchtower.CloudWatchLogHandler(
                log_group_name=group,
                log_stream_name=f"{_task_name()}/{os.getpid()}",
                boto3_client=client,
                create_log_group=False,
                # Short, so that what is buffered is sent within the shutdown grace period.
                send_interval=float(os.environ.get("CLOUDWATCH_SEND_INTERVAL", "2")),
            )
            handler.setFormatter(JsonFormatter())
            for record_filter in RECORD_FILTERS.values():
                handler.addFilter(record_filter())
            logging.getLogger().addHandler(handler)
            _cloudwatch_handler = handler
        except Exception:
            logger.exception("CloudWatch logging could not be configured; logging to stdout only")


def flush_cloudwatch() -> None:
    """Send what this process has buffered for CloudWatch and stop shipping (before it exits)."""
    global _cloudwatch_handler
    handler, _cloudwatch_handler = _cloudwatch_handler, None
    if handler is None:
        return
    logging.getLogger().removeHandler(handler)
    with contextlib.suppress(Exception):  # an unreachable CloudWatch must not block the exit
        handler.flush()
        handler.close()


def _task_name() -> str:
    """The ECS task id when on ECS (from the metadata endpoint), else the host name."""
    if os.environ.get("ECS_CONTAINER_METADATA_URI_V4"):
        with contextlib.suppress(Exception):  # the stream name is cosmetic; never fail set-up over it
            return placement()["instance_id"]
    return host_name()

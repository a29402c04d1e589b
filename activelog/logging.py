"""Logging: one JSON object per line, with the request id and, inside a traced request, the
trace and span ids, so a log line leads to its trace and its response (X-Request-ID)."""

import logging
import re
import threading
import time

from opentelemetry import trace
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from activelog.request_context import request_id_var

# Belt and braces: nothing the app logs should carry credentials, but if a message or an
# exception text ever does, these are masked before the line is written. Each rule comes with
# the lower-case words one of which any text it matches must contain: most lines contain none,
# and a substring test is ~100x cheaper than running the expression over the line.
_REDACTIONS = [
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(bearer|basic)?\s*[^\s\"',}]+"), r"\1***",
     ("authorization",)),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), "Bearer ***", ("bearer",)),
    (re.compile(r"(?i)([\"']?(?:password|passwd|secret|token|refresh|access|api[_-]?key|cookie|sessionid|csrftoken)"
                r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',}&]+"), r"\1***",
     ("passw", "secret", "token", "refresh", "access", "apikey", "api_key", "api-key", "cookie", "sessionid")),
    (re.compile(r"(\w+://[^/:@\s]*:)[^@\s]+@"), r"\1***@", ("://",)),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"), "<jwt>", ("eyj",)),
]


def redact(text: str) -> str:
    # The word test is exact only for ASCII text (case-insensitive matching also folds a few
    # non-ASCII letters onto ASCII ones, e.g. the long s onto "s"): other text takes every rule.
    # JSON lines are ASCII (non-ASCII characters are escaped).
    ascii_only = text.isascii()
    folded = text.lower() if ascii_only else ""
    for pattern, replacement, words in _REDACTIONS:
        if ascii_only and not any(word in folded for word in words):
            continue
        redacted = pattern.sub(replacement, text)
        if redacted != text:
            text = redacted
            folded = text.lower() if ascii_only else ""
    return text


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
    """python-json-logger with a stable set of base fields and redaction of the whole line."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("timestamp", "timestamp")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
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

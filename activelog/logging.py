import logging
import threading
import time

from activelog.request_context import request_id_var


class RequestIDFilter(logging.Filter):
    """Adds the current request's id to every record so a log line can be tied to a response."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


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
        cause = getattr(error, "__cause__", None) or error
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.msg = "Cache (Redis) unavailable, serving without it: %s. Repeats suppressed for %ds (%d since last)."
        record.args = (cause or "unknown error", int(self.interval), suppressed)
        record.exc_info, record.exc_text = None, None
        return True

import logging

from activelog.request_context import request_id_var


class RequestIDFilter(logging.Filter):
    """Adds the current request's id to every record so a log line can be tied to a response."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True

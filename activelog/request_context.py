"""Per-request context shared with logging (works for threads and async alike)."""

import contextvars

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

import logging
import re
import time
import uuid

from django_prometheus.middleware import PrometheusAfterMiddleware
from rest_framework.throttling import BaseThrottle

from activelog import views
from activelog.database import is_database_unavailable, log_database_unavailable
from activelog.request_context import request_id_var

request_logger = logging.getLogger("activelog.request")

# A client-supplied id is reused only when it is a short, log-safe token.
# fullmatch, not match with "$": "$" also matches before a trailing newline, and a newline in a
# response header is a crash (BadHeaderError) or, worse, header injection.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def incoming_or_new_request_id(value: str | None) -> str:
    if value and _SANE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class RequestIDMiddleware:
    """Gives every request an id (X-Request-ID in and out) and exposes it to logging."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = incoming_or_new_request_id(request.headers.get("X-Request-ID"))
        token = request_id_var.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


class MetricsMiddleware(PrometheusAfterMiddleware):
    """django-prometheus's per-view metrics (django_http_*), with two changes.

    - The labelled series are looked up once: prometheus_client's ``labels()`` checks the label
      names and takes a lock on every call, 13 times per request. The series already live as long
      as the process in prometheus_client, so keeping them here adds no new growth.
    - Every ``method`` label is one of the HTTP methods or "<invalid method>". django-prometheus
      used the raw method for the latency histogram, and gunicorn accepts any 3-20 capital letters
      as a method: each made-up one added a histogram to every worker's metrics file and to every
      scrape.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._series: dict[tuple, object] = {}

    def label_metric(self, metric, request, response=None, **labels):
        if not labels:
            return metric
        if "method" in labels:
            labels["method"] = self._method(request)  # django-prometheus's own bounded method label
        key = (metric, *labels.items())
        series = self._series.get(key)
        if series is None:
            series = self._series[key] = metric.labels(**labels)
        return series


def client_ip(request) -> str:
    """The address the load balancer saw, exactly as the throttles count it (DRF's get_ident with
    NUM_PROXIES: never the client-controlled left-most X-Forwarded-For entry)."""
    return BaseThrottle().get_ident(request)


class RequestLogMiddleware:
    """One structured line per request: method, route, path, status, duration, user, client IP.

    The path is logged without its query string (signed links carry signatures there); headers,
    cookies and bodies are never logged.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        user = getattr(request, "user", None)
        request_logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "route": (match.route or match.view_name) if match else None,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "user_id": user.pk if user is not None and user.is_authenticated else None,
                "client_ip": client_ip(request),
            },
        )
        return response


class LengthRequiredMiddleware:
    """Refuses a request body of unknown length (Transfer-Encoding: chunked) with 411.

    gunicorn decodes a chunked body, but WSGI hands Django no length for it, and Django reads a body
    without Content-Length as empty: the request would go on as if nothing had been sent ("field
    required"). Clients send bodies with their length (every browser and HTTP library does when the
    length is known); the unread body is drained or the connection closed by gunicorn.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.META.get("HTTP_TRANSFER_ENCODING") and not request.META.get("CONTENT_LENGTH"):
            return views.length_required(request)
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """A view that fails because the database is unavailable (refused, too slow, a lock not granted
    in time: activelog/database.py) answers 503 with Retry-After: problem+json under /api, the
    page elsewhere. DRF views answer it themselves (activelog/api/errors.py); failures outside a
    view (a middleware loading the session or the user) reach handler500, which does the same."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_unavailable(exception):
            return None
        log_database_unavailable(request, exception)
        return views.database_unavailable(request)

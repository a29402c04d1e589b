"""RFC 9457 problem details for every error under /api/.

One place decides the shape of an error: DRF exceptions go through
``problem_exception_handler``; Django-level 404/500 (unknown paths, crashes outside DRF) go
through ``problem_response`` via the project's handler404/handler500.

Services and selectors raise domain errors (``activelog.errors``); ``api_exception`` is the one
translation of those into HTTP for the API, the database being unavailable included (a 503 with
Retry-After; activelog/database.py). Outside DRF views the same 503 comes from
``activelog.views.database_unavailable``.
"""

import logging
import math

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from opentelemetry import trace
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import set_rollback

from activelog import errors as domain
from activelog.api.throttling import give_back_turns
from activelog.database import (
    RETRY_AFTER_SECONDS,
    UNAVAILABLE_MESSAGE,
    is_database_unavailable,
    log_database_unavailable,
)

logger = logging.getLogger("activelog.api")

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "https://activelog.dev/problems/"

# status -> (type slug, title)
_KINDS = {
    400: ("validation-error", "Validation failed"),
    401: ("not-authenticated", "Authentication required"),
    403: ("permission-denied", "Permission denied"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    411: ("length-required", "Length required"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("throttled", "Too many requests"),
    500: ("server-error", "Internal server error"),
    503: ("service-unavailable", "Service unavailable"),
}


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A service this request needs is unavailable. Try again shortly."
    default_code = "service_unavailable"

    def __init__(self, detail=None, code=None, retry_after: int = 30):
        super().__init__(detail, code)
        self.retry_after = retry_after


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def problem_body(request, status_code: int, detail: str, *, errors=None, kind: str | None = None) -> dict:
    slug, title = _KINDS.get(status_code, ("client-error" if status_code < 500 else "server-error", "Error"))
    if kind:
        slug = kind
    body = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status_code,
        "detail": detail,
        "instance": request.path if request is not None else None,
    }
    if errors is not None:
        body["errors"] = errors
    body["request_id"] = getattr(request, "request_id", None)
    if trace_id := current_trace_id():
        body["trace_id"] = trace_id
    return body


def current_trace_id() -> str | None:
    """The W3C trace id (32 hex digits, as in the log lines) of the span this runs in; None when
    tracing is off (no valid span)."""
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def problem_response(request, status_code: int, detail: str, *, errors=None, headers=None) -> JsonResponse:
    """A problem for views outside DRF (handler404/handler500)."""
    response = JsonResponse(
        problem_body(request, status_code, detail, errors=errors),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure -> {"field": [...], "tags.3": [...], "non_field_errors": [...]}."""
    flat: dict[str, list[str]] = {}

    def key(part) -> str:
        return f"{prefix}.{part}" if prefix else str(part)

    if isinstance(detail, dict):
        for name, value in detail.items():
            if isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
                flat.setdefault(key(name), []).extend(str(v) for v in value)
            else:
                flat.update(flatten_errors(value, key(name)))
    elif isinstance(detail, list):
        if all(not isinstance(v, (dict, list)) for v in detail):
            flat.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in detail)
        else:
            for index, value in enumerate(detail):
                if value:  # DRF reports valid list items as {}
                    flat.update(flatten_errors(value, key(index)))
    else:
        flat.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return flat


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for value in detail.values():
            return _first_message(value)
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def _problem(request, body: dict, status_code: int, headers: dict | None = None) -> Response:
    """A DRF response that is always rendered as JSON.

    Views with other renderers (the YAML schema, the HTML docs page) would otherwise render the
    problem with their own renderer under an application/problem+json label.
    """
    if request is not None:
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def api_exception(exc: Exception) -> Exception:
    """A domain error (or a Django one) as the DRF exception that answers it; others unchanged."""
    if isinstance(exc, domain.NotFound):
        return exceptions.NotFound(exc.message)
    if isinstance(exc, domain.Conflict):
        return Conflict(exc.message)
    if isinstance(exc, domain.DependencyUnavailable):
        return ServiceUnavailable(exc.message, retry_after=exc.retry_after)
    if isinstance(exc, domain.NotAuthenticated):
        return exceptions.AuthenticationFailed(exc.message)
    if isinstance(exc, domain.ContentTooLarge):
        return PayloadTooLarge(exc.message)
    if isinstance(exc, domain.UnsupportedContent):
        return exceptions.UnsupportedMediaType(media_type=None, detail=exc.message)
    if isinstance(exc, domain.DomainError):  # a new kind without its own answer: still a client error
        return exceptions.ValidationError({"non_field_errors": [exc.message]})
    if is_database_unavailable(exc):
        return ServiceUnavailable(UNAVAILABLE_MESSAGE, retry_after=RETRY_AFTER_SECONDS)
    return exc


def problem_exception_handler(exc, context):
    """DRF EXCEPTION_HANDLER: every exception raised in an API view becomes a problem response."""
    request = context.get("request")
    give_back_turns(request)  # refused before the throttle check: that request does not count
    if is_database_unavailable(exc):
        log_database_unavailable(request, exc)
    exc = api_exception(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        # Services validate with Django's ValidationError; the API shows it like any other.
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        exc = exceptions.ValidationError({"non_field_errors": ["The request has too many form fields or files."]})

    set_rollback()  # like DRF's own handler: an error inside ATOMIC_REQUESTS writes nothing
    if not isinstance(exc, exceptions.APIException):
        request_id = getattr(request, "request_id", None)
        logger.exception(
            "Unhandled exception in %s %s",
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
            extra={"request_id": request_id or "-"},
        )
        body = problem_body(request, 500, "An unexpected error occurred. Quote the request id when reporting it.")
        return _problem(request, body, 500)

    headers = {}
    status_code = exc.status_code
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        # DRF turns these into a 403 on views without authentication classes (login, refresh),
        # because it has no WWW-Authenticate challenge to offer. This API always has one.
        status_code = status.HTTP_401_UNAUTHORIZED
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    if isinstance(exc, exceptions.Throttled):
        # Never tell a client to come back before the window has really moved on.
        headers["Retry-After"] = str(max(1, math.ceil(exc.wait or 1)))
    if isinstance(exc, ServiceUnavailable):
        headers["Retry-After"] = str(exc.retry_after)

    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        detail = "One or more fields are invalid."
        body = problem_body(request, status_code, detail, errors=errors)
    elif status_code == 400:
        # Malformed JSON and other request-level mistakes: still a validation problem.
        detail = _first_message(exc.detail)
        body = problem_body(request, status_code, detail, errors={"non_field_errors": [detail]})
    else:
        detail = _first_message(exc.detail)
        if isinstance(exc, exceptions.Throttled):
            detail = f"Request limit reached. Try again in {headers['Retry-After']} seconds."
        body = problem_body(request, status_code, detail)
    return _problem(request, body, status_code, headers)

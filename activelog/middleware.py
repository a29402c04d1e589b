import re
import uuid

from activelog.request_context import request_id_var

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

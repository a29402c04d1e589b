"""The landing page and the error pages: HTML in the site's layout outside /api, problem+json
under /api."""

import sys

from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from activelog.api.errors import problem_response
from activelog.database import (
    RETRY_AFTER_SECONDS,
    UNAVAILABLE_MESSAGE,
    is_database_unavailable,
    log_database_unavailable,
)

API_PREFIX = "/api/"

_TITLES = {
    400: gettext_lazy("Bad request"),
    403: gettext_lazy("Forbidden"),
    404: gettext_lazy("Page not found"),
    409: gettext_lazy("Not possible right now"),
    411: gettext_lazy("Length required"),
    413: gettext_lazy("Too large"),
    415: gettext_lazy("Unsupported file"),
    500: gettext_lazy("Something went wrong"),
    503: gettext_lazy("Temporarily unavailable"),
}


def home(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "home.html")


def error_page(request, status: int, message: str = "", *, bare: bool = False):
    """An error page in the site's layout (templates/errors/page.html). ``bare`` leaves out what
    needs the database (the signed-in navigation): a 500 may be the database failing."""
    context = {"status": status, "title": _TITLES.get(status, _("Error")), "message": message, "bare": bare}
    return render(request, "errors/page.html", context, status=status)


def api_not_found(request, *args, **kwargs):
    return problem_response(request, 404, f"No API endpoint at {request.path}.")


def not_found(request, exception=None):
    if request.path.startswith(API_PREFIX):
        return api_not_found(request)
    return error_page(request, 404, _("There is nothing at this address. Check the link, or start from the dashboard."))


def crashed(request):
    # handler500 runs inside Django's handling of the exception: a database outage raised outside
    # a view (a middleware loading the session or the user) is still a 503, not a crash.
    if is_database_unavailable(exception := sys.exc_info()[1]):
        log_database_unavailable(request, exception)
        return database_unavailable(request)
    if request.path.startswith(API_PREFIX):
        return problem_response(
            request, 500, "An unexpected error occurred. Quote the request id when reporting it."
        )
    # No database or template context processors that could fail again: a plain render.
    message = _("The error was logged. Try again; if it keeps happening, quote this request id: %(id)s") % {
        "id": getattr(request, "request_id", "-")
    }
    return error_page(request, 500, message, bare=True)


def rejected(request, exception=None):
    """400 outside a view, e.g. a Host header not in ALLOWED_HOSTS."""
    if request.path.startswith(API_PREFIX):
        return problem_response(request, 400, "Bad request (for example, an unknown Host header).",
                                errors={"non_field_errors": ["The request was rejected before reaching the API."]})
    return error_page(request, 400, _("The request could not be understood."))


def forbidden(request, exception=None):
    if request.path.startswith(API_PREFIX):
        return problem_response(request, 403, "You do not have permission to perform this action.")
    return error_page(request, 403, _("You do not have permission to see this page."))


def csrf_failure(request, reason=""):
    """A form sent without (or with an expired) CSRF token."""
    if request.path.startswith(API_PREFIX):
        return problem_response(request, 403, "CSRF check failed: send the X-CSRFToken header with the session.")
    return error_page(
        request, 403, _("The form expired or came from elsewhere. Go back, reload the page and send it again.")
    )


def database_unavailable(request):
    """503 with Retry-After: the database refused, was too slow, or a lock was not granted in time
    (activelog/database.py). The page leaves out what needs the database."""
    if request.path.startswith(API_PREFIX):
        response = problem_response(request, 503, UNAVAILABLE_MESSAGE)
    else:
        message = _("ActiveLog cannot reach its database right now. Try again in a few seconds.")
        response = error_page(request, 503, message, bare=True)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def length_required(request):
    """411: a body of unknown length (Transfer-Encoding: chunked), which the server would read as
    empty (WSGI gives Django no length to read it by)."""
    if request.path.startswith(API_PREFIX):
        return problem_response(request, 411, "Send the request body with a Content-Length header; "
                                              "chunked request bodies are not accepted.")
    return error_page(request, 411, _("The request body must be sent with its length."))

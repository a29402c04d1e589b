from django.http import HttpResponseNotFound
from django.shortcuts import render
from django.views.defaults import bad_request, page_not_found, permission_denied, server_error

from activelog.api.errors import problem_response


def home(request):
    return render(request, "home.html")


def api_not_found(request, *args, **kwargs):
    return problem_response(request, 404, f"No API endpoint at {request.path}.")


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return api_not_found(request)
    if exception is None:
        return HttpResponseNotFound()
    return page_not_found(request, exception)


def crashed(request):
    if request.path.startswith("/api/"):
        return problem_response(
            request, 500, "An unexpected error occurred. Quote the request id when reporting it."
        )
    return server_error(request)


def rejected(request, exception=None):
    """400 outside a view, e.g. a Host header not in ALLOWED_HOSTS."""
    if request.path.startswith("/api/"):
        return problem_response(request, 400, "Bad request (for example, an unknown Host header).",
                                errors={"non_field_errors": ["The request was rejected before reaching the API."]})
    return bad_request(request, exception)


def forbidden(request, exception=None):
    if request.path.startswith("/api/"):
        return problem_response(request, 403, "You do not have permission to perform this action.")
    return permission_denied(request, exception)

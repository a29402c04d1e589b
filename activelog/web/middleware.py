"""Middleware of the browser UI."""

from django.conf import settings
from django.utils import timezone

from activelog import errors as domain


class PermissionsPolicyMiddleware:
    """Sends settings.PERMISSIONS_POLICY with every response (Django has no setting for it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = getattr(settings, "PERMISSIONS_POLICY", "")
        if policy and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = policy
        return response


class DomainErrorPageMiddleware:
    """A domain error raised under a browser view becomes an HTML page in the site's layout (the
    API translates the same errors to problem+json itself)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if request.path.startswith("/api/") or not isinstance(exception, domain.DomainError):
            return None
        from activelog.views import error_page

        if isinstance(exception, domain.NotFound):
            return error_page(request, 404, exception.message)
        if isinstance(exception, domain.Conflict):
            return error_page(request, 409, exception.message)
        if isinstance(exception, domain.DependencyUnavailable):
            response = error_page(request, 503, exception.message)
            response["Retry-After"] = str(exception.retry_after)
            return response
        if isinstance(exception, domain.ContentTooLarge):
            return error_page(request, 413, exception.message)
        if isinstance(exception, domain.UnsupportedContent):
            return error_page(request, 415, exception.message)
        return error_page(request, 400, exception.message)


class UserTimezoneMiddleware:
    """Pages show and read times in the signed-in person's time zone (their setting)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith("/api/"):  # the API speaks UTC; and never load a session user here
            return self.get_response(request)
        tzinfo = getattr(getattr(request, "user", None), "tzinfo", None)
        if tzinfo is None:
            return self.get_response(request)
        with timezone.override(tzinfo):
            return self.get_response(request)

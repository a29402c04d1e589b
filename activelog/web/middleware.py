"""Middleware of the browser UI, and cheaper variants of two of Django's and django-csp's."""

import functools

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib.messages.middleware import MessageMiddleware as DjangoMessageMiddleware
from django.contrib.messages.storage import default_storage
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone
from django.utils.functional import SimpleLazyObject, empty

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


class MessageMiddleware(DjangoMessageMiddleware):
    """Django's, with the message storage made when a request first uses it.

    Django builds it (a cookie signer and the session backend) for every request, API calls
    included: 20 us per request, 4 us with this. A storage never used has nothing
    to store, so the response is left alone."""

    def process_request(self, request):
        request._messages = SimpleLazyObject(lambda: default_storage(request))

    def process_response(self, request, response):
        messages = getattr(request, "_messages", None)
        if isinstance(messages, SimpleLazyObject) and messages._wrapped is empty:
            return response
        return super().process_response(request, response)


# django-csp's per-response settings (the csp_update, csp_replace and csp decorators)
_CSP_RESPONSE_OVERRIDES = ("_csp_config", "_csp_update", "_csp_replace",
                           "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")


@functools.cache
def _policies() -> list:
    """(header, policy, exemption attribute, excluded path prefixes) of the settings' two policies."""
    return [
        (header, build_policy(report_only=report_only), exempt,
         tuple((getattr(settings, name, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()))
        for header, report_only, exempt, name in (
            (HEADER, False, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
            (HEADER_REPORT_ONLY, True, "_csp_exempt_ro", "CONTENT_SECURITY_POLICY_REPORT_ONLY"),
        )
    ]


@receiver(setting_changed)
def _forget_policies(*, setting, **kwargs):
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        _policies.cache_clear()


class CSPMiddleware(DjangoCSPMiddleware):
    """django-csp's, with the settings' policy built once instead of for every response.

    A response without a per-view policy, to a request that used no nonce, gets the same headers
    every time (building them took 62 us per response, the cached ones 11 us). Anything
    else (a nonce, a csp_update/csp_replace/csp decorator, the debug pages) goes to django-csp.
    tests/activelog/test_security_headers.py compares both on every kind of response."""

    def process_response(self, request, response):
        if (getattr(request, "_csp_nonce", None) is not None
                or any(hasattr(response, name) for name in _CSP_RESPONSE_OVERRIDES)
                or (settings.DEBUG and response.status_code in (404, 500))):
            return super().process_response(request, response)
        for header, policy, exempt, excluded in _policies():
            if (policy and header not in response and not getattr(response, exempt, False)
                    and not request.path_info.startswith(excluded)):
                response[header] = policy
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response

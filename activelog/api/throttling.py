"""Cache-backed throttles. Rates live in settings.THROTTLE_RATES (THROTTLE_RATE_<SCOPE> overrides).

The client address comes from DRF's get_ident with NUM_PROXIES, i.e. the right-most
X-Forwarded-For entry added by our own load balancer, never the spoofable left-most one.
If the cache is unreachable the throttles fail open: availability over rate limiting.
"""

from django.conf import settings
from rest_framework import throttling


class _SettingsRates:
    """Read rates at request time so overridden settings (and tests) take effect."""

    def get_rate(self):
        return settings.THROTTLE_RATES[self.scope]


class UserRateThrottle(_SettingsRates, throttling.UserRateThrottle):
    scope = "user"


class AnonRateThrottle(_SettingsRates, throttling.AnonRateThrottle):
    scope = "anon"


class ScopedIPThrottle(_SettingsRates, throttling.SimpleRateThrottle):
    """Per client IP, for the view's ``throttle_scope``."""

    def __init__(self, scope: str):
        self.scope = scope
        super().__init__()

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class LoginIPThrottle(ScopedIPThrottle):
    def __init__(self):
        super().__init__("login")


class RegisterIPThrottle(ScopedIPThrottle):
    def __init__(self):
        super().__init__("register")


class RefreshIPThrottle(ScopedIPThrottle):
    def __init__(self):
        super().__init__("refresh")


class LoginAccountThrottle(_SettingsRates, throttling.SimpleRateThrottle):
    """Per targeted account (email or username in the body), whatever address the attempts come from."""

    scope = "login"

    def get_cache_key(self, request, view):
        data = request.data if isinstance(request.data, dict) else {}
        identifier = data.get("email") or data.get("username")
        if not isinstance(identifier, str) or not identifier.strip():
            return None
        return self.cache_format % {"scope": "login_account", "ident": identifier.strip().lower()}

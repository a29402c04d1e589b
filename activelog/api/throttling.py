"""Cache-backed throttles. Rates live in settings.THROTTLE_RATES (THROTTLE_RATE_<SCOPE> overrides).

The client address comes from DRF's get_ident with NUM_PROXIES, i.e. the right-most
X-Forwarded-For entry added by our own load balancer, never the spoofable left-most one.
If the cache is unreachable the throttles fail open: availability over rate limiting.

With Redis the request log of a throttle is a sorted set updated by one Lua script call (trim,
add, count, oldest, and take a refused request out again); DRF's own implementation reads and
rewrites a pickled list of every timestamp in the window on each request, which grows with the
rate (1,000 entries at 1000/hour).
The semantics are DRF's: a sliding window, refused requests not counted, Retry-After until the
oldest counted request leaves the window. Other caches (the embedded local-memory default) keep
DRF's implementation.
"""

import hashlib
import logging
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework import throttling
from rest_framework.settings import api_settings

cache_logger = logging.getLogger("activelog.cache")


def _redis_client():
    """The raw Redis client behind the default cache, or None for other cache backends."""
    get_client = getattr(getattr(cache, "client", None), "get_client", None)
    return get_client(write=True) if get_client else None


# One request's turn in the sliding window, atomically in Redis: drop what left the window, add
# this request, count; over the limit, take this request out again (a refused request does not
# count). Returns the count (this request included) and the oldest score still in the window (a
# string: Lua would truncate a number). One EVALSHA instead of a MULTI of five commands and a
# ZREM: a sixth of the client-side cost of a cached request went to those replies.
SLIDING_WINDOW = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
local count = redis.call('ZCARD', KEYS[1])
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
redis.call('EXPIRE', KEYS[1], ARGV[5])
if count > tonumber(ARGV[4]) then
    redis.call('ZREM', KEYS[1], ARGV[3])
end
return {count, oldest[2] or false}
"""


def _sliding_window(client):
    """The script registered on this client (redis-py sends EVALSHA, and the script itself when
    Redis does not have it, after a restart for instance)."""
    script = getattr(client, "_activelog_sliding_window", None)
    if script is None:
        script = client._activelog_sliding_window = client.register_script(SLIDING_WINDOW)
    return script


class _SettingsRates:
    """Read rates at request time so overridden settings (and tests) take effect.

    A scope missing from settings.THROTTLE_RATES (a partial override) keeps its configured
    default instead of failing every request of that scope.
    """

    def allow_request(self, request, view):
        client = _redis_client()
        allowed = super().allow_request(request, view) if client is None else self._allow(client, request, view)
        if not allowed:
            from activelog.metrics import THROTTLED

            THROTTLED.labels(scope=self.scope).inc()
        return allowed

    def _allow(self, client, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        key = cache.make_key(self.key)
        now = self.timer()
        member = f"{now:.6f}-{uuid.uuid4().hex[:8]}"
        try:
            count, oldest = _sliding_window(client)(
                keys=[key], args=[repr(now), repr(now - self.duration), member, self.num_requests,
                                  int(self.duration) + 1])
        except Exception as exc:  # Redis unreachable: fail open, say so (rate-limited by the logger's filter)
            cache_logger.warning("Throttle check skipped: %s", exc, exc_info=True)
            return True
        if count <= self.num_requests:
            return True
        self.now, self._oldest = now, float(oldest) if oldest else now
        return False

    def wait(self):
        oldest = getattr(self, "_oldest", None)
        if oldest is None:
            return super().wait()
        return max(0.0, self.duration - (self.now - oldest))

    def get_rate(self):
        rates = getattr(settings, "THROTTLE_RATES", None) or {}
        if self.scope in rates:
            return rates[self.scope]
        defaults = api_settings.DEFAULT_THROTTLE_RATES or {}
        if self.scope in defaults:
            return defaults[self.scope]
        raise ImproperlyConfigured(f"No throttle rate set for scope {self.scope!r} (settings.THROTTLE_RATES)")


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
    """Per targeted account, whatever address the attempts come from and however the account is
    named: its email and its username, in any case, count against one allowance.

    The identifier is the one the login uses (the email when given, else the username), trimmed.
    When it names an account, the attempts count against that account's id; otherwise against the
    case-folded identifier. Both paths cost the same single indexed query and give the same
    answers (401 until the limit, then 429), so the throttle tells no more about which accounts
    exist than the login does. The key holds a digest: bounded in length whatever the client
    sends, and no addresses in cache key names.

    ``activelog`` imports no app: the account is looked up through ``get_user_model()`` at
    request time, by the fields the login backend uses (``email``, ``username``).
    """

    scope = "login"
    # Longer than any email or username: such an identifier cannot name an account (and the
    # login's own validation refuses it), so it is not looked up.
    MAX_IDENTIFIER_LENGTH = 254

    def get_cache_key(self, request, view):
        data = request.data if isinstance(request.data, dict) else {}
        for field in ("email", "username"):
            value = data.get(field)
            if isinstance(value, str) and value.strip():
                identity = self.account_identity(field, value.strip())
                digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()
                return self.cache_format % {"scope": "login_account", "ident": digest}
        return None

    @classmethod
    def account_identity(cls, field: str, identifier: str) -> str:
        """``account:<id>`` for an existing account, else ``<field>:<case-folded identifier>``."""
        folded = identifier.casefold()
        if cls._lookable(identifier):
            user_model = get_user_model()
            account_id = (
                user_model._default_manager.filter(**{f"{field}__iexact": identifier})
                .values_list("pk", flat=True)
                .first()
            )
            if account_id is not None:
                return f"account:{account_id}"
        return f"{field}:{folded}"

    @classmethod
    def _lookable(cls, identifier: str) -> bool:
        """Text the database can compare: bounded, no NUL (PostgreSQL refuses it in text), no lone
        surrogates (not encodable)."""
        if len(identifier) > cls.MAX_IDENTIFIER_LENGTH or "\x00" in identifier:
            return False
        try:
            identifier.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True


class ExportRateThrottle(_SettingsRates, throttling.UserRateThrottle):
    """PDF reports per signed-in user (THROTTLE_RATE_EXPORT)."""

    scope = "export"

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
from django_prometheus.cache import metrics as cache_metrics
from rest_framework import throttling
from rest_framework.settings import api_settings

from activelog import read_ahead

cache_logger = logging.getLogger("activelog.cache")


def _redis_client():
    """The raw Redis client behind the default cache, or None for other cache backends."""
    get_client = getattr(getattr(cache, "client", None), "get_client", None)
    return get_client(write=True) if get_client else None


# One request's turn in a sliding window, atomically in Redis: drop what left the window, add this
# request, count; over the limit, take this request out again (a refused request does not count).
# Gives the count (this request included) and the oldest score still in the window (a string: Lua
# would truncate a number). One EVALSHA instead of a MULTI of five commands and a ZREM: a sixth of
# the client-side cost of a cached request went to those replies.
# The first ARGV[1] KEYS are read (GET) before: an authenticated request's first reads and its
# per-user throttles go in one round trip (reads_and_user_turns); a throttle checked on its own
# reads nothing. Each further key takes a turn with the next five ARGV. Returns the values read
# (false for a missing key), then count and oldest of each turn.
READS_AND_TURNS = """
local function turn(key, now, window_start, member, limit, ttl)
    redis.call('ZREMRANGEBYSCORE', key, '-inf', window_start)
    redis.call('ZADD', key, now, member)
    local count = redis.call('ZCARD', key)
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    redis.call('EXPIRE', key, ttl)
    if count > tonumber(limit) then
        redis.call('ZREM', key, member)
    end
    return count, oldest[2] or false
end

local reads = tonumber(ARGV[1])
local out = {}
for i = 1, reads do
    out[i] = redis.call('GET', KEYS[i])
end
for t = reads + 1, #KEYS do
    local a = 1 + (t - reads - 1) * 5
    local count, oldest = turn(KEYS[t], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5])
    out[#out + 1] = count
    out[#out + 1] = oldest
end
return out
"""


def _script(client):
    """The script registered on this client (redis-py sends EVALSHA, and the script itself when
    Redis does not have it, after a restart for instance)."""
    script = getattr(client, "_activelog_reads_and_turns", None)
    if script is None:
        script = client._activelog_reads_and_turns = client.register_script(READS_AND_TURNS)
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
        turn = _turns_taken(request).pop(self.key, None)  # taken with the request's first reads
        if turn is None:
            turn = _Turn(self, self.key, self.timer())
            try:
                turn.count, turn.oldest = _script(client)(keys=[turn.redis_key], args=[0, *turn.args])
            except Exception as exc:  # Redis unreachable: fail open, say so (rate-limited by the logger's filter)
                cache_logger.warning("Throttle check skipped: %s", exc, exc_info=True)
                return True
        if turn.count <= self.num_requests:
            return True
        self.now, self._oldest = turn.now, float(turn.oldest) if turn.oldest else turn.now
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


class _Turn:
    """One request's turn in one throttle's window: the script's arguments, then its answer."""

    __slots__ = ("args", "count", "limit", "member", "now", "oldest", "redis_key")

    def __init__(self, throttle, key: str, now: float):
        self.now, self.limit, self.redis_key = now, throttle.num_requests, cache.make_key(key)
        self.member = f"{now:.6f}-{uuid.uuid4().hex[:8]}"
        self.args = [repr(now), repr(now - throttle.duration), self.member, throttle.num_requests,
                     int(throttle.duration) + 1]
        self.count, self.oldest = 0, None  # 0: not counted (yet)


def _turns_taken(request) -> dict:
    """Turns taken ahead by reads_and_user_turns and not yet checked, by throttle cache key."""
    return getattr(request, "_activelog_throttle_turns", None) or {}


def _user_throttles(view, user_id) -> dict:
    """The view's throttles that are keyed by the signed-in user alone (UserRateThrottle and its
    kind), by the cache key they will have for ``user_id``."""
    if view is None:
        return {}
    keyed = {}
    for throttle in view.get_throttles():
        if (isinstance(throttle, _SettingsRates) and isinstance(throttle, throttling.UserRateThrottle)
                and throttle.rate is not None):
            keyed[throttle.cache_format % {"scope": throttle.scope, "ident": user_id}] = throttle
    return keyed


def reads_and_user_turns(request, user_id, keys: list[str]) -> list | None:
    """Read ``keys`` from the cache and take this request's turn in each per-user throttle of its
    view, as the signed-in user ``user_id``, in one Redis round trip; the turns wait on the request
    for DRF's throttle check (before it, the user had one round trip of its own, issue 17).

    The keys the view names in ``cache_keys_read_ahead(request, user_id)``, if it has that method,
    are read in the same call and kept for the request (activelog/read_ahead.py).

    Returns the values of ``keys`` (None for a miss), or None without Redis (the caller reads its
    own way).
    With Redis unreachable every read is a miss and the throttles let the request through, as
    they would on their own, without trying Redis again. A request refused before its throttles
    are checked gives its turns back (give_back_turns): DRF counts only requests that get there.
    """
    client = _redis_client()
    if client is None:
        return None
    view = (getattr(request, "parser_context", None) or {}).get("view")
    throttles = _user_throttles(view, user_id)
    ahead = getattr(view, "cache_keys_read_ahead", None)
    ahead = [key for key in ahead(request, user_id) if key not in keys] if ahead else []
    own, keys = len(keys), [*keys, *ahead]
    turns = {key: _Turn(throttle, key, throttle.timer()) for key, throttle in throttles.items()}
    args = [len(keys)]
    for turn in turns.values():
        args += turn.args
    try:
        answer = _script(client)(
            keys=[cache.make_key(key) for key in keys] + [turn.redis_key for turn in turns.values()], args=args)
    except Exception as exc:  # Redis unreachable: every read a miss, every throttle open
        cache_logger.warning("Cache read and throttle check skipped: %s", exc, exc_info=True)
        cache_metrics.django_cache_get_total.labels(backend="redis").inc(len(keys))
        cache_metrics.django_cache_get_fail_total.labels(backend="redis").inc(len(keys))
        values = [None] * len(keys)
    else:
        values = [None if raw is None else cache.client.decode(raw) for raw in answer[:len(keys)]]
        hits = sum(value is not None for value in values)
        cache_metrics.django_cache_get_total.labels(backend="redis").inc(len(keys))
        cache_metrics.django_cache_hits_total.labels(backend="redis").inc(hits)
        cache_metrics.django_cache_misses_total.labels(backend="redis").inc(len(keys) - hits)
        for i, turn in enumerate(turns.values()):
            turn.count, turn.oldest = answer[len(keys) + 2 * i], answer[len(keys) + 2 * i + 1]
    request._activelog_throttle_turns = turns
    read_ahead.keep(dict(zip(ahead, values[own:], strict=True)))
    return values[:own]


def give_back_turns(request) -> None:
    """Take back the turns reads_and_user_turns counted for a request that ended before DRF checked
    its throttles (authentication or permission refused): like DRF, only requests that reach the
    throttle check count against the rate."""
    turns = _turns_taken(request)
    counted = [turn for turn in turns.values() if 0 < turn.count <= turn.limit]
    turns.clear()
    client = _redis_client() if counted else None
    if client is None:
        return
    try:
        with client.pipeline(transaction=False) as pipe:
            for turn in counted:
                pipe.zrem(turn.redis_key, turn.member)
            pipe.execute()
    except Exception as exc:
        cache_logger.warning("Throttle turn not given back: %s", exc, exc_info=True)


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

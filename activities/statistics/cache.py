"""Per-user statistics cache.

The key holds the user's ``stats_version`` (a column bumped inside every write transaction that
changes statistics: ``activities.services.stats_version_bump``), the time zone and the user's
local date, so an answer is never served after the data, the time zone or "today" changed —
there is nothing to delete and no window where a stale value can be read. Old keys simply expire.
The same key gives the answer's ETag: a client that sends it back in If-None-Match gets a 304.
When the cache is unreachable, django-redis (IGNORE_EXCEPTIONS) reports a miss and the figures are
computed live.
"""

import hashlib
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache

from accounts.models import User
from activelog import metrics
from activelog.observability import span
from activelog.timezones import local_today


def stats_cache_key(*, user: User, endpoint: str, params: dict | None = None) -> str:
    query = urlencode(sorted((params or {}).items()))
    return f"stats:{user.pk}:{user.stats_version}:{user.timezone}:{local_today(user.tzinfo)}:{endpoint}:{query}"


def stats_etag(key: str) -> str:
    """The entity tag of the answer cached under ``key`` (stats_cache_key): the key determines the
    body (and the app version its format), so a client holding this tag holds the current answer;
    a write, a new local day or a new time zone changes it."""
    digest = hashlib.sha256(f"{settings.APP_VERSION}|{key}".encode()).hexdigest()
    return f'"{digest[:32]}"'


def cached_stats(*, user: User, endpoint: str, params: dict | None, compute: Callable[[], dict],
                 key: str | None = None) -> tuple[dict, bool]:
    """Return (body, hit). ``key``: stats_cache_key's, when the caller already made it."""
    key = key or stats_cache_key(user=user, endpoint=endpoint, params=params)
    with span(f"statistics.{endpoint}", user__id=user.pk) as current:
        body = cache.get(key)
        hit = body is not None
        current.set_attribute("cache.hit", hit)
        metrics.STATS_CACHE.labels(result="hit" if hit else "miss").inc()
        if not hit:
            body = compute()
            cache.set(key, body, timeout=settings.STATS_CACHE_SECONDS)
    return body, hit

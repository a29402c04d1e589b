"""Per-user statistics cache.

An answer is stored with its fingerprint (stats_cache_key): the user's ``stats_version`` (a column
bumped inside every write transaction that changes statistics:
``activities.services.stats_version_bump``), the time zone, the user's local date and the
validated parameters. An answer whose fingerprint is not the request's is computed again, never
served, so nothing is served after the data, the time zone or "today" changed — there is nothing
to delete and no window where a stale value can be read. The fingerprint also gives the answer's
ETag: a client that sends it back in If-None-Match gets a 304.

The entry's key (stats_slot_key) names only the user, the endpoint and the query as sent, so the
API reads it ahead, with the signed-in user, in the same Redis round trip
(StatsView.cache_keys_read_ahead, activelog/read_ahead.py). When the cache is unreachable,
django-redis (IGNORE_EXCEPTIONS) reports a miss and the figures are computed live.
"""

import hashlib
from collections.abc import Callable, Mapping
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache

from accounts.models import User
from activelog import metrics, read_ahead
from activelog.observability import span
from activelog.timezones import local_today


def stats_cache_key(*, user: User, endpoint: str, params: dict | None = None) -> str:
    """The answer's fingerprint: what it was computed from."""
    query = urlencode(sorted((params or {}).items()))
    return f"stats:{user.pk}:{user.stats_version}:{user.timezone}:{local_today(user.tzinfo)}:{endpoint}:{query}"


def stats_slot_key(*, user_id, endpoint: str, query: Mapping | None = None) -> str:
    """Where the answer to this endpoint and query (as sent, or a page's parameters) is kept for the
    user: nameable before the user row is read. The query is hashed: a key of bounded length."""
    sent = urlencode(sorted((str(k), str(v)) for k, v in (query or {}).items()))
    return f"stats-slot:{user_id}:{endpoint}:{hashlib.sha256(sent.encode()).hexdigest()[:24]}"


def stats_etag(key: str) -> str:
    """The entity tag of the answer cached under ``key`` (stats_cache_key): the key determines the
    body (and the app version its format), so a client holding this tag holds the current answer;
    a write, a new local day or a new time zone changes it."""
    digest = hashlib.sha256(f"{settings.APP_VERSION}|{key}".encode()).hexdigest()
    return f'"{digest[:32]}"'


def cached_stats(*, user: User, endpoint: str, params: dict | None, compute: Callable[[], dict],
                 key: str | None = None, query: Mapping | None = None) -> tuple[dict, bool]:
    """Return (body, hit). ``key``: stats_cache_key's, when the caller already made it; ``query``:
    the request's query as sent (the slot the API reads ahead), ``params`` when not given."""
    key = key or stats_cache_key(user=user, endpoint=endpoint, params=params)
    slot = stats_slot_key(user_id=user.pk, endpoint=endpoint, query=params if query is None else query)
    with span(f"statistics.{endpoint}", user__id=user.pk) as current:
        kept = read_ahead.get(slot)
        hit = isinstance(kept, tuple) and len(kept) == 2 and kept[0] == key
        current.set_attribute("cache.hit", hit)
        metrics.STATS_CACHE.labels(result="hit" if hit else "miss").inc()
        if hit:
            return kept[1], True
        body = compute()
        cache.set(slot, (key, body), timeout=settings.STATS_CACHE_SECONDS)
    return body, False

"""Cache entries an API request read together with its user, in its first Redis round trip.

A view can name, before the user is known, the cache keys its answer will read
(``cache_keys_read_ahead(request, user_id)``, e.g. the list's total); the API's authentication
reads them in the same script call as the user and the throttles (activelog/api/throttling.py),
and keeps the values here for the rest of the request. ``get`` then answers from them instead of
asking Redis again: one round trip less (issue 17).

A value is used at most once and only within its request (dropped when the request finishes,
and replaced by the next request's). Entries read this way must not depend on data the reader
cannot check: the list's total carries the statistics version it was counted under.
"""

from contextvars import ContextVar

from django.core.cache import cache
from django.core.signals import request_finished

_values: ContextVar[dict | None] = ContextVar("activelog_read_ahead", default=None)


def keep(values: dict) -> None:
    """The values read ahead for the current request (None for a miss), by cache key."""
    _values.set(values)


def get(key: str):
    """``cache.get(key)``, answered from the values read ahead when the key is among them."""
    values = _values.get()
    if values is not None and key in values:
        return values.pop(key)
    return cache.get(key)


def _forget(**kwargs) -> None:
    _values.set(None)


request_finished.connect(_forget, dispatch_uid="activelog.read_ahead.forget")

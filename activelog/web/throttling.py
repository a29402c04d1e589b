"""The API's rate limits applied to browser forms: the same throttle classes, counters and rates
(a person trying passwords through the log-in page and through the API is counted once)."""

import math
from types import SimpleNamespace


def throttle_wait(request, throttles, data: dict | None = None) -> int | None:
    """Seconds to wait when one of ``throttles`` refuses this request, else None (and counted)."""
    shim = SimpleNamespace(META=request.META, headers=request.headers, data=data or {}, user=request.user,
                           method=request.method,
                           path=request.path)
    waits = [throttle.wait() or 1 for throttle in throttles if not throttle.allow_request(shim, None)]
    return max(1, math.ceil(max(waits))) if waits else None

"""Once a server process has loaded the app: take what it loaded out of the garbage collector's
way.

A worker holds ~125,000 objects from start-up (modules, classes, URL patterns, settings) that
live as long as the process. Python's full collections walk all of them every time (~100 ms
each here, a few per thousand requests), more often when tracing keeps spans alive until export.
gc.freeze() moves them to a permanent generation the collector never scans; what the requests
allocate is collected as before. bench/gc_freeze.py measured the collector's time per
activity-list request at 782 -> 519 us with tracing off and 1079 -> 651 us with it on (of about
10 ms). GC_FREEZE=false switches it off.
"""

import gc
import logging

from django.conf import settings

logger = logging.getLogger(__name__)


def freeze_loaded_objects(role: str, *, import_urls: bool = True) -> int:
    """Import what the first request would (the URLconf and every view behind it) so it is frozen
    too, collect, freeze. Returns the number of frozen objects (0 when switched off)."""
    if not settings.GC_FREEZE:
        return 0
    if import_urls:
        from django.urls import get_resolver

        get_resolver().url_patterns  # noqa: B018 - the import is the point
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    logger.info("%s process ready: %d start-up objects frozen out of garbage collection", role, frozen,
                extra={"gc_frozen_objects": frozen})
    return frozen

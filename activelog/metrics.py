"""ActiveLog's own Prometheus metrics, and the /metrics view.

Under gunicorn every worker writes its samples to PROMETHEUS_MULTIPROC_DIR (prometheus_client's
multiprocess mode; every process creates the directory when missing in activelog/bootstrap.py,
gunicorn's master wipes it at start and marks dead workers), and /metrics aggregates all of them,
so every scrape sees the whole task whichever worker answers.
Label values are bounded: activity types outside a known list are reported as "other".
"""

import os
import secrets

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest, multiprocess
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

from activelog.runtime import pool_stats

KNOWN_ACTIVITY_TYPES = frozenset({
    "running", "cycling", "swimming", "walking", "hiking", "yoga", "gym", "strength", "rowing", "skiing",
    "climbing", "tennis", "football", "basketball", "dance", "pilates", "crossfit", "elliptical", "boxing",
})

ACTIVITIES_CREATED = Counter(
    "activelog_activities_created", "Activities created.", ["activity_type"],
)
PHOTOS_UPLOADED = Counter("activelog_photos_uploaded", "Photos stored.")
EXPORTS_REQUESTED = Counter("activelog_exports_requested", "Report exports requested.", ["format"])
EXPORTS_COMPLETED = Counter("activelog_exports_completed", "Report exports completed.", ["format"])
EXPORTS_FAILED = Counter("activelog_exports_failed", "Report exports that failed.", ["format"])
LOGINS = Counter("activelog_logins", "Sign-in attempts.", ["result"])
STATS_CACHE = Counter("activelog_stats_cache_requests", "Statistics answers, from the cache or computed.", ["result"])
THROTTLED = Counter("activelog_throttled_requests", "Requests refused by a rate limit.", ["scope"])
DB_POOL = Gauge(
    "activelog_db_pool_connections", "Connections of the psycopg pool, per state.", ["state"],
    multiprocess_mode="livesum",  # summed over the live worker processes
)


def activity_type_label(activity_type: str) -> str:
    return activity_type if activity_type in KNOWN_ACTIVITY_TYPES else "other"


def record_pool_usage() -> None:
    stats = pool_stats()
    if stats is not None:
        DB_POOL.labels(state="active").set(stats["active"])
        DB_POOL.labels(state="idle").set(stats["idle"])


def registry() -> CollectorRegistry:
    """All processes' samples in multiprocess mode, this process's otherwise."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return DEFAULT_REGISTRY


def _authorized(request) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return True
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(presented.strip(), token)


def metrics_view(request):
    """Prometheus text format. Protected by METRICS_TOKEN (bearer) when it is set."""
    if not _authorized(request):
        return HttpResponse("Unauthorized\n", status=401, content_type="text/plain",
                            headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    record_pool_usage()
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST,
                        headers={"Cache-Control": "no-store"})

"""ActiveLog's own Prometheus metrics, and the /metrics view.

Under gunicorn every worker writes its samples to PROMETHEUS_MULTIPROC_DIR (prometheus_client's
multiprocess mode; every process creates the directory when missing in activelog/bootstrap.py,
gunicorn's master wipes it at start and marks dead workers), and /metrics aggregates all of them,
so every scrape sees the whole task whichever worker answers.
Label values are bounded: activity types outside a known list are reported as "other".
"""

import logging
import os
import secrets
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.signals import request_finished
from django.http import HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from activelog import container
from activelog.multiprocess import LockedMultiProcessCollector
from activelog.runtime import pool_stats

logger = logging.getLogger(__name__)

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
DB_POOL_MAX = Gauge(
    "activelog_db_pool_max_connections", "Most connections the psycopg pools of the task may open.",
    multiprocess_mode="livesum",
)


def precreate(counter: Counter, label: str, values: Iterable[str]) -> None:
    """Start each series of a closed label set at 0 when the process starts: a panel shows 0
    rather than nothing, and ``increase()`` sees the first event (a series born at 1 has no
    earlier sample to increase from)."""
    for value in values:
        counter.labels(**{label: value})


precreate(ACTIVITIES_CREATED, "activity_type", sorted(KNOWN_ACTIVITY_TYPES | {"other"}))
precreate(LOGINS, "result", ("success", "failure"))
precreate(STATS_CACHE, "result", ("hit", "miss"))
precreate(THROTTLED, "scope", settings.THROTTLE_RATES)


def activity_type_label(activity_type: str) -> str:
    return activity_type if activity_type in KNOWN_ACTIVITY_TYPES else "other"


POOL_SAMPLE_INTERVAL = 1.0  # seconds between two samples of one process's pool
_pool_sampled_at = -POOL_SAMPLE_INTERVAL


def record_pool_usage(**kwargs) -> None:
    """Sample this process's pool: on each scrape, and after requests (and the worker's tasks) at
    most once a second, so every process's gauges stay current, not only the scraped one's."""
    global _pool_sampled_at
    now = time.monotonic()
    if kwargs and now - _pool_sampled_at < POOL_SAMPLE_INTERVAL:
        return
    _pool_sampled_at = now
    stats = pool_stats()
    if stats is not None:
        DB_POOL.labels(state="active").set(stats["active"])
        DB_POOL.labels(state="idle").set(stats["idle"])
        DB_POOL_MAX.set(stats["max"])


request_finished.connect(record_pool_usage, dispatch_uid="activelog.metrics.record_pool_usage")


# --- Computed at scrape time -----------------------------------------------------------------


class ScrapeTimeCollector:
    """Families computed when scraped (container resources, queue depth), outside the
    multiprocess files: they describe the task or the database, not one process."""

    def __init__(self, produce: Callable[[], Iterable[Metric]], name: str):
        self._produce, self.name = produce, name

    def describe(self) -> Iterable[Metric]:
        return []  # registering must not compute anything (no query at start-up)

    def collect(self) -> Iterable[Metric]:
        try:
            return list(self._produce())
        except Exception as exc:  # a scrape must answer even when one source cannot
            logger.warning("Metrics source %s failed (%s: %s); its families are left out of this scrape",
                           self.name, type(exc).__name__, str(exc)[:200])
            return []


def container_families() -> Iterable[Metric]:
    usage = container.read_usage()
    if usage.cpu_seconds is not None:
        yield CounterMetricFamily("activelog_container_cpu_usage_seconds", "CPU time the container used (cgroup).",
                                  value=usage.cpu_seconds)
    if usage.memory_bytes is not None:
        yield GaugeMetricFamily("activelog_container_memory_usage_bytes",
                                "Container memory in use, page cache that can be reclaimed left out (cgroup).",
                                value=usage.memory_bytes)
    if usage.memory_limit_bytes is not None:
        yield GaugeMetricFamily("activelog_container_memory_limit_bytes", "Container memory limit (cgroup).",
                                value=usage.memory_limit_bytes)
    received = CounterMetricFamily("activelog_container_network_receive_bytes",
                                   "Bytes received by the task's network interfaces.", labels=["interface"])
    sent = CounterMetricFamily("activelog_container_network_transmit_bytes",
                               "Bytes sent by the task's network interfaces.", labels=["interface"])
    for interface, (rx, tx) in usage.network.items():
        received.add_metric([interface], rx)
        sent.add_metric([interface], tx)
    yield received
    yield sent


CONTAINER = ScrapeTimeCollector(container_families, "container")
# Families the apps compute from the database. Only the web processes serve them: the Celery
# worker's main process must never open a database connection (its pool processes are forked
# from it and would inherit the pool's threads and locks), and a connection checked out outside
# a request is never given back.
_app_sources: list[ScrapeTimeCollector] = []


def register_scrape_source(produce: Callable[[], Iterable[Metric]], name: str) -> None:
    """An app adds families computed at scrape time from the database (e.g. its queue depth),
    served by the web's /metrics, without this module importing the app. Registering a name
    again does nothing (one family per scrape)."""
    if any(existing.name == name for existing in _app_sources):
        return
    collector = ScrapeTimeCollector(produce, name)
    _app_sources.append(collector)
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        DEFAULT_REGISTRY.register(collector)


if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    DEFAULT_REGISTRY.register(CONTAINER)


def registry(*, app_sources: bool = True) -> CollectorRegistry:
    """All processes' samples in multiprocess mode, this process's otherwise; plus the families
    computed at scrape time (the database-backed ones only with ``app_sources``)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = CollectorRegistry()
        LockedMultiProcessCollector(collected)
        for collector in [CONTAINER, *(_app_sources if app_sources else [])]:
            collected.register(collector)
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

"""Dependency probes for /health.

Each probe runs in a worker thread with its own deadline, so a hung dependency makes that probe
"down" after ``HEALTH_PROBE_TIMEOUT`` seconds instead of hanging the endpoint. Results are cached
per process for ``HEALTH_CACHE_SECONDS`` and computed by one request at a time (single flight),
so frequent checks from load balancers, ECS and monitors stay cheap.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.db import connections

from activelog.redaction import safe_error
from activelog.runtime import pool_stats

UP, DOWN, DISABLED = "up", "down", "disabled"
# Probes that outlive their deadline keep their thread until their own (short) timeouts end;
# a small pool bounds how many can pile up.
_executor = ThreadPoolExecutor(max_workers=6, thread_name_prefix="health-probe")
_cache_lock = threading.Lock()
_cached: tuple[float, dict] | None = None
_s3_client = None
_s3_client_lock = threading.Lock()


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        extra = check() or {}
    except Exception as exc:
        return {"status": DOWN, "error": safe_error(exc)}
    return {"status": UP, "latency_ms": round((time.perf_counter() - started) * 1000, 2), **extra}


def check_database() -> dict:
    def run():
        connection = connections["default"]
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        finally:
            connection.close()  # back to the pool: probe threads are reused
        return {}

    result = _timed(run)
    try:
        result["connection_pool"] = pool_stats()
    except Exception:  # the pool's statistics are informative, never a reason to fail
        result["connection_pool"] = None
    return result


def check_redis() -> dict:
    if not settings.REDIS_URL:
        return {"status": DISABLED}

    def run():
        from django_redis import get_redis_connection

        get_redis_connection("default").ping()

    return _timed(run)


def _s3():
    global _s3_client
    with _s3_client_lock:
        if _s3_client is None:  # created lazily in the serving process, never before fork
            import boto3
            from botocore.config import Config

            timeout = settings.HEALTH_PROBE_TIMEOUT
            _s3_client = boto3.client(
                "s3",
                region_name=settings.AWS_S3_REGION_NAME or None,
                endpoint_url=settings.AWS_S3_ENDPOINT_URL or None,
                # One attempt in all (botocore's max_attempts would count retries only).
                config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"total_max_attempts": 1}),
            )
        return _s3_client


def check_s3() -> dict:
    bucket = settings.AWS_STORAGE_BUCKET_NAME
    if not bucket:
        return {"status": DISABLED}

    def run():
        # Reachable and allowed is all /health reports: boto3's answer (ResponseMetadata,
        # BucketRegion, the upstream's headers) is not part of the contract.
        _s3().head_bucket(Bucket=bucket)

    return _timed(run)


PROBES = {"database": check_database, "redis": check_redis, "s3": check_s3}


def run_probes() -> dict:
    timeout = settings.HEALTH_PROBE_TIMEOUT
    futures = {name: _executor.submit(probe) for name, probe in PROBES.items()}
    results = {}
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=timeout)
        except FutureTimeout:
            results[name] = {"status": DOWN, "error": f"no answer within {timeout:g} s"}
        except Exception as exc:  # a probe bug must not become a 500
            results[name] = {"status": DOWN, "error": safe_error(exc)}
    if results["database"]["status"] != UP:
        results["database"].setdefault("connection_pool", None)
    return results


def cached_probes() -> dict:
    """Probe results, at most HEALTH_CACHE_SECONDS old; one request probes, the others wait."""
    global _cached
    ttl = settings.HEALTH_CACHE_SECONDS
    if _cached is not None and time.monotonic() - _cached[0] < ttl:
        return _cached[1]
    with _cache_lock:
        if _cached is not None and time.monotonic() - _cached[0] < ttl:
            return _cached[1]
        results = run_probes()
        _cached = (time.monotonic(), results)
        return results


def reset_cache() -> None:
    global _cached, _s3_client
    _cached = None
    _s3_client = None

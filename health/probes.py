"""Dependency probes for /health.

Each probe runs in a worker thread with its own deadline, so a hung dependency makes that probe
"down" after ``HEALTH_PROBE_TIMEOUT`` seconds instead of hanging the endpoint. Results are cached
per process for ``HEALTH_CACHE_SECONDS`` and computed by one request at a time (single flight),
so frequent checks from load balancers, ECS and monitors stay cheap.
"""

import json
import logging
import os
import socket
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.db import connections

from activelog.logging import redact

logger = logging.getLogger(__name__)

UP, DOWN, DISABLED = "up", "down", "disabled"
# Probes that outlive their deadline keep their thread until their own (short) timeouts end;
# a small pool bounds how many can pile up.
_executor = ThreadPoolExecutor(max_workers=6, thread_name_prefix="health-probe")
_cache_lock = threading.Lock()
_cached: tuple[float, dict] | None = None
_s3_client = None
_s3_client_lock = threading.Lock()

def safe_error(exc: BaseException) -> str:
    """One line that says what failed, without credentials (the log redaction rules apply)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return redact(f"{type(exc).__name__}: {text}")[:200] if text else type(exc).__name__


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        extra = check() or {}
    except Exception as exc:
        return {"status": DOWN, "error": safe_error(exc)}
    return {"status": UP, "latency_ms": round((time.perf_counter() - started) * 1000, 2), **extra}


def pool_stats() -> dict | None:
    """Connection use of this process's psycopg pool (None without a pool, e.g. SQLite)."""
    pool = getattr(connections["default"], "pool", None)
    if pool is None:
        return None
    stats = pool.get_stats()
    size, available = stats.get("pool_size", 0), stats.get("pool_available", 0)
    return {"active": size - available, "idle": available, "max": pool.max_size}


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
                config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1}),
            )
        return _s3_client


def check_s3() -> dict:
    bucket = settings.AWS_STORAGE_BUCKET_NAME
    if not bucket:
        return {"status": DISABLED}
    return _timed(lambda: _s3().head_bucket(Bucket=bucket))


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


# --- where are we running --------------------------------------------------------------------

_placement: dict | None = None


def _get_json(url: str, timeout: float, headers: dict | None = None, method: str = "GET") -> dict | str:
    request = urllib.request.Request(url, headers=headers or {}, method=method)  # noqa: S310 - fixed metadata URLs
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        body = response.read().decode()
    try:
        return json.loads(body)
    except ValueError:
        return body


def _from_ecs(uri: str) -> dict | None:
    task = _get_json(uri.rstrip("/") + "/task", timeout=1)
    if not isinstance(task, dict) or "TaskARN" not in task:
        return None
    arn = task["TaskARN"]  # arn:aws:ecs:<region>:<account>:task/<cluster>/<task id>
    parts = arn.split(":")
    region = parts[3] if len(parts) > 3 and parts[3] else None
    return {"instance_id": arn.rsplit("/", 1)[-1], "region": region}


def _from_ec2() -> dict | None:
    """IMDSv2; only asked when HEALTH_EC2_METADATA is on (off by default)."""
    base = "http://169.254.169.254/latest"
    token = _get_json(f"{base}/api/token", timeout=1, method="PUT",
                      headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
    headers = {"X-aws-ec2-metadata-token": str(token)}
    document = _get_json(f"{base}/dynamic/instance-identity/document", timeout=1, headers=headers)
    if not isinstance(document, dict):
        return None
    return {"instance_id": document.get("instanceId"), "region": document.get("region")}


def placement() -> dict:
    """instance_id and region: the ECS task (metadata endpoint v4), the EC2 instance, or the host."""
    global _placement
    if _placement is not None:
        return _placement
    found = None
    uri = os.environ.get("ECS_CONTAINER_METADATA_URI_V4")
    try:
        if uri:
            found = _from_ecs(uri)
        elif settings.HEALTH_EC2_METADATA:
            found = _from_ec2()
    except Exception as exc:
        logger.warning("Instance metadata unavailable: %s", safe_error(exc))
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
    _placement = {
        "instance_id": (found or {}).get("instance_id") or socket.gethostname(),
        "region": (found or {}).get("region") or region,
    }
    return _placement


def reset_placement() -> None:
    global _placement
    _placement = None

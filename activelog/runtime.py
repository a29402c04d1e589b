"""What this process is and where it runs: the app version, the host, the ECS task or EC2 instance,
and the use of its database connection pool.

Shared by /health (health/probes.py), the metrics, the log lines and the CloudWatch stream names.
Django is imported inside the functions: the log formatter of the gunicorn master uses this module
before (and without) loading Django.
"""

import json
import logging
import os
import socket
import urllib.request

from activelog import __version__
from activelog.redaction import safe_error

logger = logging.getLogger(__name__)


def app_version() -> str:
    """APP_VERSION (set at image build or deploy), else the package version."""
    return os.environ.get("APP_VERSION", __version__)


def host_name() -> str:
    return socket.gethostname()


def pool_stats() -> dict | None:
    """Connection use of this process's psycopg pool (None without a pool, e.g. SQLite)."""
    from django.db import connections

    pool = getattr(connections["default"], "pool", None)
    if pool is None:
        return None
    stats = pool.get_stats()
    size, available = stats.get("pool_size", 0), stats.get("pool_available", 0)
    return {"active": size - available, "idle": available, "max": pool.max_size}


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
    from django.conf import settings

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
        "instance_id": (found or {}).get("instance_id") or host_name(),
        "region": (found or {}).get("region") or region,
    }
    return _placement


def reset_placement() -> None:
    global _placement
    _placement = None

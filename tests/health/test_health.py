"""/health and /health/live through Django (API.md §7)."""

import time

import pytest

from health import probes
from tests.support.servers import closed_port, json_stub, silent_server

SERVICE_KEYS = {"database", "redis", "s3"}


def get_health(client, **extra):
    response = client.get("/health", **extra)
    return response, response.json()


def test_live_touches_nothing_and_answers_alive(client):
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert response["X-Request-ID"]


def test_health_shape_with_database_and_redis_up(client, db, settings):
    settings.APP_VERSION = "1.2.3"
    response, body = get_health(client)
    assert response.status_code == 200
    assert set(body) == {"status", "environment", "version", "services", "instance_id", "region", "uptime_seconds"}
    assert body["status"] == "healthy"
    assert body["environment"] == "test"
    assert body["version"] == "1.2.3"
    assert set(body["services"]) == SERVICE_KEYS
    database = body["services"]["database"]
    assert database["status"] == "up"
    assert isinstance(database["latency_ms"], float) and database["latency_ms"] >= 0
    pool = database["connection_pool"]
    assert set(pool) == {"active", "idle", "max"} and all(isinstance(v, int) for v in pool.values())
    assert pool["max"] == settings.DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
    assert body["services"]["redis"]["status"] == "up"
    assert isinstance(body["services"]["redis"]["latency_ms"], float)
    assert body["services"]["s3"] == {"status": "disabled"}
    assert isinstance(body["instance_id"], str) and body["instance_id"]
    assert isinstance(body["uptime_seconds"], int) and body["uptime_seconds"] >= 0


def test_s3_probe_uses_head_bucket(client, db, media_bucket):
    _response, body = get_health(client)
    assert body["services"]["s3"]["status"] == "up"
    assert isinstance(body["services"]["s3"]["latency_ms"], float)
    assert body["status"] == "healthy"


def test_s3_block_has_exactly_the_documented_keys(client, db, media_bucket, settings):
    """Only status and latency_ms when up, status and error when down: nothing of boto3's answer
    (ResponseMetadata, BucketRegion, the upstream's headers)."""
    response, body = get_health(client)
    assert body["services"]["s3"]["status"] == "up"
    assert set(body["services"]["s3"]) == {"status", "latency_ms"}
    for leaked in ("ResponseMetadata", "BucketRegion", "x-amz", "HTTPHeaders", "AccessPointAlias"):
        assert leaked not in response.content.decode()

    probes.reset_cache()
    settings.AWS_STORAGE_BUCKET_NAME = "no-such-bucket"
    s3 = get_health(client)[1]["services"]["s3"]
    assert set(s3) == {"status", "error"} and s3["status"] == "down"


def test_missing_bucket_degrades(client, db, media_bucket, settings):
    settings.AWS_STORAGE_BUCKET_NAME = "no-such-bucket"
    response, body = get_health(client)
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["services"]["s3"]["status"] == "down"
    assert body["services"]["s3"]["error"]


def test_redis_down_degrades_without_leaking_its_password(client, db, settings):
    url = f"redis://:supersecret-pw@127.0.0.1:{closed_port()}/0"
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": url}}
    response, body = get_health(client)
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["services"]["redis"]["status"] == "down"
    assert "supersecret-pw" not in response.content.decode()


def test_hung_dependency_never_hangs_the_endpoint(client, db, media_bucket, settings):
    with silent_server() as endpoint:
        settings.AWS_S3_ENDPOINT_URL = endpoint
        started = time.monotonic()
        response, body = get_health(client)
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert body["services"]["s3"]["status"] == "down"
    assert elapsed < settings.HEALTH_PROBE_TIMEOUT + 1.0


def test_results_are_cached_for_a_few_seconds(client, db, settings):
    settings.HEALTH_CACHE_SECONDS = 60
    first = get_health(client)[1]["services"]["database"]["latency_ms"]
    assert all(get_health(client)[1]["services"]["database"]["latency_ms"] == first for _ in range(5))
    settings.HEALTH_CACHE_SECONDS = 0
    latencies = {get_health(client)[1]["services"]["database"]["latency_ms"] for _ in range(5)}
    assert len(latencies) > 1


def test_ecs_task_metadata_gives_instance_and_region(client, db, monkeypatch):
    task = {"TaskARN": "arn:aws:ecs:eu-west-3:123456789012:task/activelog/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            "AvailabilityZone": "eu-west-3a"}
    with json_stub({"/v4/abc/task": task}) as base:
        monkeypatch.setenv("ECS_CONTAINER_METADATA_URI_V4", f"{base}/v4/abc")
        body = get_health(client)[1]
    assert body["instance_id"] == "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    assert body["region"] == "eu-west-3"


def test_without_metadata_the_host_name_and_aws_region_are_used(client, db, monkeypatch):
    import socket

    monkeypatch.delenv("ECS_CONTAINER_METADATA_URI_V4", raising=False)
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")
    body = get_health(client)[1]
    assert body["instance_id"] == socket.gethostname()
    assert body["region"] == "ap-southeast-2"


@pytest.mark.parametrize("path", ["/health", "/health/live"])
def test_any_host_header_is_answered(client, db, path):
    assert client.get(path, HTTP_HOST="10.0.3.17:8080").status_code == 200


def test_other_paths_keep_host_validation(client, db):
    response = client.get("/api/v1/activities", HTTP_HOST="10.0.3.17:8080")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_other_methods_are_not_allowed(client, db):
    assert client.post("/health").status_code == 405
    assert client.delete("/health/live").status_code == 405

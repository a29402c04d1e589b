"""The production command (`gunicorn -c gunicorn.conf.py activelog.wsgi`, DJANGO_ENV=production)
against the local PostgreSQL and Redis, checked over real HTTP."""

import http.client
import json
import signal
import threading
import time
import urllib.request

import pytest
import redis

from tests.support.servers import PRODUCTION_ENV, Gunicorn, clean_env, closed_port, json_stub

pytestmark = pytest.mark.slow

DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/15"


def production_env(**overrides):
    return clean_env(**{**PRODUCTION_ENV, "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, **overrides})


def get(base, path, host=None, headers=None):
    url = base.split("//", 1)[1]
    connection = http.client.HTTPConnection(url, timeout=10)
    all_headers = {"Host": host} if host else {}
    all_headers.update(headers or {})
    connection.request("GET", path, headers=all_headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), body


@pytest.fixture(scope="module")
def server():
    task = {"TaskARN": "arn:aws:ecs:us-west-2:123456789012:task/activelog-prod/9a8b7c6d5e4f30211203f4e5d6c7b8a9"}
    with json_stub({"/meta/task": task}) as metadata, \
            Gunicorn(production_env(ECS_CONTAINER_METADATA_URI_V4=f"{metadata}/meta", APP_VERSION="9.9.9")) as g:
        yield g


def test_health_is_healthy_with_every_documented_key(server):
    status, headers, body = get(server.base, "/health", host="localhost")
    assert status == 200, body
    data = json.loads(body)
    assert data["status"] == "healthy"
    assert data["environment"] == "production"
    assert data["version"] == "9.9.9"
    assert isinstance(data["uptime_seconds"], int)
    database = data["services"]["database"]
    assert database["status"] == "up" and isinstance(database["latency_ms"], float)
    assert {"active", "idle", "max"} == set(database["connection_pool"])
    assert database["connection_pool"]["max"] == 4
    assert data["services"]["redis"]["status"] == "up"
    assert data["services"]["s3"] == {"status": "disabled"}
    # The fake ECS task metadata endpoint gave the task id and its region.
    assert data["instance_id"] == "9a8b7c6d5e4f30211203f4e5d6c7b8a9"
    assert data["region"] == "us-west-2"
    assert headers["Content-Type"] == "application/json"


def test_private_ip_host_is_answered_only_on_health_paths(server):
    for path in ("/health", "/health/live"):
        assert get(server.base, path, host="10.0.3.17:8080")[0] == 200, path
    assert get(server.base, "/api/v1/activities", host="10.0.3.17:8080")[0] == 400


def test_health_answers_carry_their_length_not_chunks(server):
    for path in ("/health", "/health/live", "/metrics"):
        status, headers, body = get(server.base, path, host="10.0.3.17:8080")
        assert status == 200, path
        assert "Transfer-Encoding" not in headers and int(headers["Content-Length"]) == len(body) > 0, (path, headers)


def test_plain_http_health_is_not_redirected_but_other_paths_are(server):
    status, _, _ = get(server.base, "/health", host="localhost")
    assert status == 200
    status, headers, _ = get(server.base, "/api/v1/activities", host="localhost")
    assert status == 301
    assert headers["Location"] == "https://localhost/api/v1/activities"
    # Behind the ALB the original scheme arrives in X-Forwarded-Proto: no redirect then.
    status, _, _ = get(server.base, "/api/v1/activities", host="localhost", headers={"X-Forwarded-Proto": "https"})
    assert status == 401


def test_many_health_checks_run_few_dependency_probes(server):
    stats = redis.Redis.from_url(REDIS_URL)

    def pings() -> int:
        return int(stats.info("commandstats").get("cmdstat_ping", {}).get("calls", 0))

    before, started = pings(), time.monotonic()
    for _ in range(200):
        assert get(server.base, "/health", host="localhost")[0] == 200
    elapsed = time.monotonic() - started
    probes = pings() - before
    # At most one probe per worker per 5-second cache window (plus the window in progress).
    bound = 2 * (int(elapsed / 5) + 2)
    assert probes <= bound, (probes, bound, elapsed)


def test_redis_down_is_degraded():
    with Gunicorn(production_env(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0"), workers=1) as g:
        status, _, body = get(g.base, "/health", host="localhost")
    data = json.loads(body)
    assert status == 200
    assert data["status"] == "degraded"
    assert data["services"]["redis"]["status"] == "down"
    assert data["services"]["database"]["status"] == "up"


def test_database_down_is_unhealthy_quickly_and_liveness_still_answers():
    env = production_env(DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port()}/postgres")
    with Gunicorn(env, workers=1) as g:
        started = time.monotonic()
        status, headers, body = get(g.base, "/health", host="localhost")
        elapsed = time.monotonic() - started
        assert get(g.base, "/health/live", host="10.0.0.9")[0] == 200
    data = json.loads(body)
    assert status == 503
    assert data["status"] == "unhealthy"
    assert data["services"]["database"]["status"] == "down"
    assert "error" in data["services"]["database"]
    assert elapsed < 2.0, elapsed
    assert headers["Retry-After"]


def test_sigterm_lets_in_flight_requests_finish_and_exits_zero():
    g = Gunicorn(production_env(), app="tests.health.slow_app:application", workers=2).start()
    results: list[int] = []

    def slow_request():
        with urllib.request.urlopen(f"{g.base}/__slow?seconds=2", timeout=30) as response:
            results.append(response.status)

    threads = [threading.Thread(target=slow_request) for _ in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(0.7)  # all six are now being served
    g.process.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join(timeout=30)
    code = g.process.wait(timeout=30)
    assert results == [200] * 6
    assert code == 0, "\n".join(g.lines())


def started_and_stopped(**env) -> list[dict]:
    """The JSON lines of a one-worker gunicorn that served one API request."""
    with Gunicorn(production_env(LOG_LEVEL="INFO", **env), workers=1) as g:
        status, _, _ = get(g.base, "/api/v1/activities", host="localhost", headers={"X-Forwarded-Proto": "https"})
        assert status == 401  # served: the URLconf and the views behind it work
    return [json.loads(line) for line in g.output.decode().splitlines() if line.startswith("{")]


def test_workers_freeze_their_start_up_objects_once_the_app_is_loaded():
    lines = started_and_stopped()
    ready = [line for line in lines if line.get("gc_frozen_objects")]
    assert len(ready) == 1, lines
    assert ready[0]["message"].startswith("web process ready")
    # More than django.setup() alone (~89,000 here): the views behind the URLconf are in too.
    assert ready[0]["gc_frozen_objects"] > 100_000


def test_gc_freeze_false_leaves_the_collector_alone():
    assert not [line for line in started_and_stopped(GC_FREEZE="false") if "gc_frozen_objects" in line]

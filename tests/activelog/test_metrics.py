"""Prometheus metrics under gunicorn with several workers: every scrape aggregates them all."""

import json
import threading
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.servers import PRODUCTION_ENV, Gunicorn, clean_env

pytestmark = pytest.mark.slow
TOKEN = "metrics-token-for-tests-0123456789"


def call(base, method, path, body=None, token=None, headers=None):
    request = urllib.request.Request(f"{base}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Host", "localhost")
    request.add_header("X-Forwarded-Proto", "https")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    with urllib.request.urlopen(request, timeout=20) as response:
        raw = response.read()
        return response.status, raw


def samples(text: str) -> dict[tuple, float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found, name, **labels):
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_every_scrape_aggregates_all_workers(served_database_url):
    env = clean_env(**PRODUCTION_ENV, DATABASE_URL=served_database_url, REDIS_URL="redis://127.0.0.1:6379/14",
                    METRICS_TOKEN=TOKEN, THROTTLE_RATE_USER="100000/hour",
                    THROTTLE_RATE_REGISTER="1000/min")
    with Gunicorn(env, workers=3) as server:
        account = {"username": "metrics-user", "email": "metrics@example.com", "password": "a-long-passphrase-7"}
        _, body = call(server.base, "POST", "/api/v1/auth/register", account)
        token = json.loads(body)["access"]
        for _ in range(7):
            call(server.base, "POST", "/api/v1/activities", {"activity_type": "running", "duration_minutes": 30,
                                                             "activity_date": "2026-03-01T07:00:00Z"}, token)
        call(server.base, "POST", "/api/v1/activities", {"activity_type": "underwater hockey", "duration_minutes": 30,
                                                         "activity_date": "2026-03-01T07:00:00Z"}, token)

        def hammer(count):
            for _ in range(count):
                assert call(server.base, "GET", "/api/v1/activities?limit=5", token=token)[0] == 200

        threads = [threading.Thread(target=hammer, args=(30,)) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        # Unauthenticated scrapes are refused; the scrape answers any Host (Prometheus uses task IPs).
        with pytest.raises(urllib.error.HTTPError) as refused:
            call(server.base, "GET", "/metrics")
        assert refused.value.code == 401
        scrapes = []
        for _ in range(10):
            request = urllib.request.Request(f"{server.base}/metrics", headers={
                "Host": "10.0.7.21:8080", "Authorization": f"Bearer {TOKEN}"})
            with urllib.request.urlopen(request, timeout=10) as response:
                scrapes.append(samples(response.read().decode()))

    for found in scrapes:
        assert value(found, "django_http_requests_total_by_view_transport_method_total",
                     view="activity-list", transport="https", method="GET") == 300
        assert value(found, "django_http_requests_latency_seconds_by_view_method_count",
                     view="activity-list", method="GET") == 300
        assert value(found, "activelog_activities_created_total", activity_type="running") == 7
        assert value(found, "activelog_activities_created_total", activity_type="other") == 1
        assert value(found, "activelog_logins_total", result="success") == 0  # registration is not a login
        # Closed label sets exist from the start, at 0: panels show 0 and increase() sees a first event.
        assert (found[("activelog_exports_failed_total", (("format", "pdf"),))],
                found[("activelog_throttled_requests_total", (("scope", "login"),))],
                found[("activelog_logins_total", (("result", "failure"),))]) == (0, 0, 0)
        # Computed when scraped: the container's resources, the report queue, every worker's pool.
        assert found[("activelog_container_cpu_usage_seconds_total", ())] > 0
        assert found[("activelog_container_memory_usage_bytes", ())] > 0
        assert found[("activelog_export_jobs", (("status", "pending"),))] == 0
        assert found[("activelog_export_oldest_pending_age_seconds", ())] == 0
        assert found[("activelog_db_pool_max_connections", ())] >= 3 * 1  # each of the 3 workers' pool
    # Route names, never raw paths with ids, as label values.
    views = {dict(labels).get("view") for (name, labels) in scrapes[0]
             if name == "django_http_requests_total_by_view_transport_method_total"}
    assert all(v is None or "/" not in v for v in views), views

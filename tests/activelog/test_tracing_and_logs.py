"""Traces from request to database to worker, and JSON logs that agree with them, from real
gunicorn and Celery processes exporting OTLP/HTTP to a receiver the test runs."""

import json
import time
import urllib.error
import urllib.request

import pytest

from tests.support.servers import PRODUCTION_ENV, CeleryWorker, Gunicorn, clean_env, otlp_receiver

pytestmark = pytest.mark.slow
PASSWORD = "correct-horse-tracing-42"
COOKIE_SECRET = "cookie-value-that-must-not-be-logged"


def call(base, method, path, body=None, token=None, request_id=None):
    request = urllib.request.Request(f"{base}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    for name, value in {"Host": "localhost", "X-Forwarded-Proto": "https", "Content-Type": "application/json",
                        "Cookie": f"tracker={COOKIE_SECRET}"}.items():
        request.add_header(name, value)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if request_id:
        request.add_header("X-Request-ID", request_id)
    with urllib.request.urlopen(request, timeout=20) as response:
        raw = response.read()
        return json.loads(raw) if raw and response.headers["Content-Type"].startswith("application/") else raw


def descendants(spans, root_id):
    children = {root_id}
    changed = True
    while changed:
        changed = False
        for span in spans:
            if span["parent_id"] in children and span["span_id"] not in children:
                children.add(span["span_id"])
                changed = True
    return [s for s in spans if s["span_id"] in children and s["span_id"] != root_id]


@pytest.fixture(scope="module")
def traced_run(served_database_url, tmp_path_factory):
    """One run of web + worker with tracing on; returns what they exported and printed."""
    media = tmp_path_factory.mktemp("media")
    static = tmp_path_factory.mktemp("static")
    with otlp_receiver() as (endpoint, spans):
        env = clean_env(**{**PRODUCTION_ENV, "LOG_LEVEL": "INFO"}, DATABASE_URL=served_database_url,
                        REDIS_URL="redis://127.0.0.1:6379/13", CELERY_BROKER_URL="redis://127.0.0.1:6379/6",
                        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint, OTEL_BSP_SCHEDULE_DELAY="100",
                        DJANGO_MEDIA_ROOT=str(media), DJANGO_STATIC_ROOT=str(static),
                        THROTTLE_RATE_REGISTER="1000/min", THROTTLE_RATE_LOGIN="1000/min")
        import redis

        redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()
        with CeleryWorker(env) as worker, Gunicorn(env, workers=1) as web:
            call(web.base, "POST", "/api/v1/auth/register",
                 {"username": "tracer", "email": "tracer@example.com", "password": PASSWORD})
            tokens = call(web.base, "POST", "/api/v1/auth/login", {"email": "tracer@example.com", "password": PASSWORD})
            access = tokens["access"]
            created = call(web.base, "POST", "/api/v1/activities", {
                "activity_type": "running", "duration_minutes": 30, "distance_km": 5,
                "activity_date": "2026-03-01T07:00:00Z"}, access)
            call(web.base, "GET", f"/api/v1/activities/{created['id']}", token=access, request_id="trace-test-get-1")
            for path in ("/health", "/health/live", "/metrics"):
                urllib.request.urlopen(urllib.request.Request(f"{web.base}{path}", headers={"Host": "10.0.0.5"}),
                                       timeout=10).read()
            job = call(web.base, "POST", "/api/v1/activities/export/pdf", {}, access, request_id="trace-test-pdf-1")
            deadline, status = time.monotonic() + 60, {}
            while time.monotonic() < deadline:
                status = call(web.base, "GET", f"/api/v1/jobs/{job['job_id']}/status", token=access)
                if status["status"] in ("completed", "failed"):
                    break
                time.sleep(0.3)
            web.stop()
            worker.stop()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not any(s["service"] == "activelog-worker" for s in spans):
                time.sleep(0.2)
        yield {"spans": list(spans), "web": web.lines(), "worker": worker.lines(), "activity": created,
               "job": job, "status": status, "tokens": tokens}


def server_span(run, method, route_fragment):
    matches = [s for s in run["spans"] if s["kind"] == 2 and s["attributes"].get("http.method",
               s["attributes"].get("http.request.method")) == method
               and route_fragment in str(s["attributes"].get("http.route", ""))]
    assert matches, [(s["name"], s["attributes"].get("http.route")) for s in run["spans"] if s["kind"] == 2]
    return matches[-1]


def test_request_span_has_service_span_with_database_children(traced_run):
    server = server_span(traced_run, "GET", "activities/<int:activity_id>")
    assert server["service"] == "activelog-web"
    below = descendants(traced_run["spans"], server["span_id"])
    service = [s for s in below if s["name"] == "activity.get"]
    assert len(service) == 1
    assert service[0]["parent_id"] == server["span_id"]
    assert service[0]["attributes"]["activity.id"] == traced_run["activity"]["id"]
    assert service[0]["attributes"]["activity.type"] == "running"
    assert "user.id" in service[0]["attributes"]
    database = [s for s in descendants(traced_run["spans"], service[0]["span_id"])
                if s["attributes"].get("db.system") == "postgresql" or s["attributes"].get("db.system.name")]
    assert database, [s["name"] for s in below]
    assert all(s["trace_id"] == server["trace_id"] for s in below)


def test_operations_paths_produce_no_spans(traced_run):
    for span in traced_run["spans"]:
        text = json.dumps(span["attributes"])
        for path in ('"/health"', '"/health/live"', '"/metrics"'):
            assert path not in text, span


def test_the_worker_continues_the_trace_of_the_request_that_queued_the_job(traced_run):
    assert traced_run["status"]["status"] == "completed", traced_run["status"]
    request = server_span(traced_run, "POST", "activities/export/pdf")
    worker = [s for s in traced_run["spans"] if s["service"] == "activelog-worker"]
    assert any(s["name"] == "report.render" for s in worker), [s["name"] for s in worker]
    render = next(s for s in worker if s["name"] == "report.render")
    assert render["trace_id"] == request["trace_id"]
    assert render["attributes"]["report.status"] == "completed"


def test_every_log_line_is_json_with_request_and_trace_ids(traced_run):
    records = []
    for line in traced_run["web"]:
        records.append(json.loads(line))  # every line, not only the ones we look at
    get_line = [r for r in records
                if r.get("logger") == "activelog.request" and r.get("request_id") == "trace-test-get-1"]
    assert len(get_line) == 1
    line = get_line[0]
    server = server_span(traced_run, "GET", "activities/<int:activity_id>")
    assert line["trace_id"] == server["trace_id"]
    assert line["status"] == 200 and line["method"] == "GET"
    assert line["path"] == f"/api/v1/activities/{traced_run['activity']['id']}"
    assert line["route"] == "api/v1/activities/<int:activity_id>"
    assert isinstance(line["duration_ms"], float) and line["user_id"] is not None
    assert line["client_ip"] == "127.0.0.1"
    for worker_line in traced_run["worker"]:
        if worker_line.startswith("{"):
            json.loads(worker_line)


def test_the_workers_lines_for_a_report_carry_the_request_id_that_queued_it(traced_run):
    lines = [json.loads(line) for line in traced_run["worker"] if line.startswith("{")]
    completed = [line for line in lines if "completed:" in line.get("message", "")
                 and traced_run["job"]["job_id"] in line["message"]]
    assert len(completed) == 1
    assert completed[0]["request_id"] == "trace-test-pdf-1"


def test_no_secret_reaches_any_log_line(traced_run):
    output = "\n".join(traced_run["web"] + traced_run["worker"])
    secrets = [PASSWORD, traced_run["tokens"]["access"], traced_run["tokens"]["refresh"], COOKIE_SECRET,
               "test-only-secret-key", "test-only-jwt-key"]
    for secret in secrets:
        assert secret not in output

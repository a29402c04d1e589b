"""The monitoring stack, live: the app under gunicorn and the Celery worker, PostgreSQL and Redis
with Debian's exporters, and Debian's Prometheus scraping them with a configuration derived from
infra/prometheus/prometheus.local.yml (same jobs, labels, token and rule files; every second).

Scripted traffic goes through the real HTTP API and browser pages: sign-up, logins (one
throttled), reads, writes (an activity, a photo on moto's S3), 4xx, a real 503 (the database
proxy refusing connections), a completed PDF export and a failed one (the worker's S3 unreachable
through all of the task's retries). Then:

- every query of every Grafana dashboard panel returns data (a non-NaN sample) from Prometheus;
- every alert and recording rule is evaluated without error, and only the alerts this traffic
  explains fire;
- the request totals Prometheus reads from the multiprocess files equal the requests sent, after
  gunicorn recycled its workers several times (GUNICORN_MAX_REQUESTS).

PostgreSQL is a throwaway cluster of the test's own (tests/support/monitoring.py): the shared
server does not preload pg_stat_statements, which the slow-statement panels read, and preloading
needs a restart; initdb and start take about a second. The database in it is still named
``activelog_monitoring``. Redis is the shared server, databases 9 (cache, with a prefix of this
run) and 10 (broker). Nothing is written to the repository.
"""

import http.client
import json
import math
import re
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
import yaml

from tests.support.faults import FaultyProxy
from tests.support.images import image_bytes
from tests.support.monitoring import (
    LOCAL_CONFIG,
    POSTGRES_EXPORTER_QUERIES,
    RULES_DIR,
    PostgresCluster,
    Prometheus,
    derive_config,
    memory_limited_cgroup,
    panel_queries,
    require_binary,
    substitute,
)
from tests.support.servers import (
    PRODUCTION_ENV,
    CeleryWorker,
    Gunicorn,
    Program,
    clean_env,
    collect_static,
    free_port,
    migrated_database,
    moto_s3,
    wait_for_http,
)

pytestmark = pytest.mark.slow

DATABASE = "activelog_monitoring"
CACHE_DB, BROKER_DB = 9, 10
PASSWORD = "monitored-Pa55-word"
MAX_REQUESTS = 40  # per gunicorn worker, no jitter: recycled several times during the traffic
MIN_RECYCLES = 3
LOGIN_RATE = "5/min"
# Grafana's macros for the live queries: every window covers the whole run.
MACROS = {"rate_interval": "2m", "interval": "15s", "range_": "10m"}


# --- the app's HTTP clients ---------------------------------------------------------------------


class App:
    """Requests to the web server over real HTTP, as the load balancer forwards them, each on a
    new connection. Counts what it sends: ``sent`` the requests the app's metrics middleware
    sees, ``operations`` the /health and /metrics ones (answered before it)."""

    OPERATIONS = ("/health", "/metrics")

    def __init__(self, port: int):
        self.port = port
        self.sent = 0
        self.operations = 0
        self.statuses: dict[int, int] = {}
        self._lock = threading.Lock()

    def request(self, method: str, path: str, *, body: bytes | None = None, json_body=None, token: str | None = None,
                cookie: str | None = None, headers: dict | None = None, timeout: float = 30):
        all_headers = {"Host": "localhost", "X-Forwarded-Proto": "https", **(headers or {})}
        if json_body is not None:
            body = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        if cookie:
            all_headers["Cookie"] = cookie
        with self._lock:
            if path.split("?")[0].rstrip("/") in self.OPERATIONS or path.startswith("/health/"):
                self.operations += 1
            else:
                self.sent += 1
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        with self._lock:
            self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
        return response.status, response, data

    def json(self, method: str, path: str, expect: int | tuple[int, ...], **kwargs):
        status, _, data = self.request(method, path, **kwargs)
        expected = (expect,) if isinstance(expect, int) else expect
        assert status in expected, f"{method} {path}: {status} {data[:300]!r}"
        return json.loads(data) if data else None


def multipart(field: str, filename: str, content: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
            f"Content-Type: {content_type}\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def browser_login(app: App, identifier: str) -> str:
    """The login form with its CSRF token; returns the session cookie."""
    status, response, page = app.request("GET", "/accounts/login")
    assert status == 200
    csrf = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie")).group(1)
    form_token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    status, response, _ = app.request(
        "POST", "/accounts/login", body=f"csrfmiddlewaretoken={form_token}&identifier={identifier}&password={PASSWORD}"
        .encode(), cookie=f"csrftoken={csrf}",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Referer": "https://localhost/accounts/login"})
    assert status == 302, status
    session = re.search(r"sessionid=([^;]+)", response.getheader("Set-Cookie")).group(1)
    return f"sessionid={session}; csrftoken={csrf}"


def wait_for_job(app: App, token: str, job_id: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    status = {}
    while time.monotonic() < deadline:
        status = app.json("GET", f"/api/v1/jobs/{job_id}/status", 200, token=token)
        if status["status"] in ("completed", "failed"):
            return status
        time.sleep(0.25)
    raise AssertionError(f"job {job_id} not finished after {timeout} s: {status}")


# --- the traffic ----------------------------------------------------------------------------------


def drive_traffic(app: App, db_proxy: FaultyProxy, worker_s3: FaultyProxy) -> dict:
    """The scripted session; returns what happened (for the assertions and the report)."""
    run = {}
    suffix = uuid.uuid4().hex[:6]
    for path in ("/health", "/health/live", "/health/live", "/metrics"):  # not counted by the app
        app.request("GET", path, headers={"Host": "10.0.0.9", "Authorization": "Bearer wrong"})

    # Sign-up (API) and a second account for the browser.
    user = app.json("POST", "/api/v1/auth/register", 201,
                    json_body={"username": f"mon{suffix}", "email": f"mon{suffix}@example.com", "password": PASSWORD})
    token = user["access"]
    app.json("POST", "/api/v1/auth/register", 201,
             json_body={"username": f"web{suffix}", "email": f"web{suffix}@example.com", "password": PASSWORD})

    # The report first: the worker may still be starting, the rest of the traffic runs meanwhile.
    for day in range(1, 6):
        app.json("POST", "/api/v1/activities", 201, token=token, json_body={
            "activity_type": ("running", "cycling", "yoga", "swimming", "hiking")[day - 1],
            "duration_minutes": 20 + day, "distance_km": day, "activity_date": f"2026-11-{day + 20:02d}T07:00:00Z"})
    good_job = app.json("POST", "/api/v1/activities/export/pdf", 202, token=token, json_body={})

    # Reads: lists, details, statistics (a miss, then hits).
    activities = app.json("GET", "/api/v1/activities", 200, token=token)["results"]
    activity_id = activities[0]["id"]
    for path in ("/api/v1/activities/stats", "/api/v1/users/me/summary", "/api/v1/users/me/stats/by-type"):
        for _ in range(3):
            app.json("GET", path, 200, token=token)
    app.json("GET", f"/api/v1/activities/{activity_id}", 200, token=token)
    app.json("GET", "/api/v1/tags", 200, token=token)

    # A photo, stored on moto's S3.
    body, content_type = multipart("photos", "run.jpg", image_bytes("JPEG", (64, 48)), "image/jpeg")
    app.json("POST", f"/api/v1/activities/{activity_id}/photos", 201, token=token, body=body,
             headers={"Content-Type": content_type})

    # 4xx: not found (API and page), invalid, unauthenticated.
    app.json("GET", "/api/v1/activities/999999999", 404, token=token)
    app.json("GET", "/api/v1/no-such-endpoint", 404, token=token)
    app.json("POST", "/api/v1/activities", 400, token=token, json_body={"activity_type": "running"})
    app.json("GET", "/api/v1/activities", 401)

    # The browser: a session (before the API's logins use up the address's login allowance), pages, a page 404.
    cookie = browser_login(app, f"web{suffix}")
    for path in ("/dashboard", "/activities", "/stats", "/exports"):
        status, _, _ = app.request("GET", path, cookie=cookie)
        assert status == 200, (path, status)
    status, _, _ = app.request("GET", "/activities/999999999", cookie=cookie)
    assert status == 404

    # Logins: one good, failures, then the login rate limit (LOGIN_RATE per address) answers 429.
    app.json("POST", "/api/v1/auth/login", 200, json_body={"email": f"mon{suffix}@example.com", "password": PASSWORD})
    throttled = 0
    for _ in range(10):
        status, _, _ = app.request("POST", "/api/v1/auth/login",
                                   json_body={"email": f"mon{suffix}@example.com", "password": "wrong-password-1"})
        assert status in (401, 429), status
        if status == 429:
            throttled += 1
            break
    run["login_throttled"] = throttled
    assert throttled, "the login rate limit never answered 429"

    # The completed report, then one that fails: the worker's S3 unreachable through every retry.
    run["good_job"] = wait_for_job(app, token, good_job["job_id"], timeout=45)
    assert run["good_job"]["status"] == "completed", run["good_job"]
    download = app.json("GET", f"/api/v1/jobs/{good_job['job_id']}/download", 200, token=token)
    assert download["download_url"]
    worker_s3.refuse()
    failing_job = app.json("POST", "/api/v1/activities/export/pdf", 202, token=token,
                           json_body={"start_date": "2026-11-01", "end_date": "2026-11-30"})

    # A real 5xx: the database is unreachable for a moment (API and page), then back.
    # Two API failures a scrape apart: a labelled series is born at its first value, and rate()
    # only sees increases after that (the first 5xx of a view/status in a task's life is invisible
    # to rate(); nothing can create django-prometheus' label combinations at 0 in advance).
    db_proxy.refuse()
    run["outage"] = [app.request("GET", "/api/v1/activities", token=token)[0]]
    time.sleep(1.5)
    run["outage"] += [app.request("GET", "/api/v1/activities", token=token)[0],
                      app.request("GET", "/activities", cookie=cookie)[0]]
    db_proxy.heal()
    assert run["outage"] == [503, 503, 503], run["outage"]
    # Back when a dozen requests in a row succeed. A pooled connection the outage cut is handed out
    # once more and answers 503 before the pool discards it: those are counted, not hidden.
    deadline, streak, run["503_after_heal"] = time.monotonic() + 30, 0, 0
    while streak < 12:
        assert time.monotonic() < deadline, "the app did not recover after the database came back"
        status = app.request("GET", "/api/v1/activities", token=token)[0]
        assert status in (200, 503), status
        streak = streak + 1 if status == 200 else 0
        if status == 503:
            run["503_after_heal"] += 1
            time.sleep(0.1)

    # More ordinary traffic, so that both gunicorn workers are recycled a few times.
    for index in range(90):
        app.json("GET", "/api/v1/activities" if index % 3 else f"/api/v1/activities/{activity_id}", 200, token=token)
        if index % 15 == 0:
            app.json("POST", "/api/v1/activities", 201, token=token, json_body={
                "activity_type": "walking", "duration_minutes": 30, "activity_date": "2026-11-28T18:00:00Z"})
            app.json("GET", "/api/v1/activities/stats", 200, token=token)

    run["failed_job"] = wait_for_job(app, token, failing_job["job_id"], timeout=40)
    worker_s3.heal()
    assert run["failed_job"]["status"] == "failed", run["failed_job"]
    return run


# --- the stack ------------------------------------------------------------------------------------


def _local_token() -> str:
    config = yaml.safe_load(LOCAL_CONFIG.read_text())
    (web,) = [job for job in config["scrape_configs"] if job["job_name"] == "activelog-web"]
    return web["authorization"]["credentials"]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """Everything running, the traffic driven and scraped; yields the handles the tests query."""
    started = time.monotonic()
    for binary in ("prometheus", "prometheus-postgres-exporter", "prometheus-redis-exporter"):
        require_binary(binary, f"/usr/bin/{binary}")
    tmp = tmp_path_factory.mktemp("monitoring")
    static = {}
    collecting = threading.Thread(target=lambda: static.setdefault("root", collect_static(tmp / "static")))
    collecting.start()
    for index in (CACHE_DB, BROKER_DB):
        redis.Redis(host="127.0.0.1", port=6379, db=index).flushdb()

    with PostgresCluster() as pg, moto_s3() as s3_endpoint:
        database_url = migrated_database(pg.url(DATABASE))
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            conn.execute("SELECT pg_stat_statements_reset()")  # the migrations are not the app's traffic
        import boto3

        bucket = f"activelog-monitoring-{uuid.uuid4().hex[:8]}"
        aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
        boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket=bucket)
        collecting.join()
        token = _local_token()
        s3_host, s3_port = s3_endpoint.removeprefix("http://").split(":")

        with FaultyProxy("127.0.0.1", pg.port) as db_proxy, FaultyProxy(s3_host, int(s3_port)) as worker_s3:
            env = clean_env(**{
                **PRODUCTION_ENV, **aws,
                "DATABASE_URL": f"postgres://postgres@127.0.0.1:{db_proxy.port}/{DATABASE}",
                "DATABASE_POOL_TIMEOUT": "1",
                "REDIS_URL": f"redis://127.0.0.1:6379/{CACHE_DB}",
                "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{BROKER_DB}",
                "CACHE_KEY_PREFIX": f"monitoring-{uuid.uuid4().hex[:8]}",
                "DJANGO_STATIC_ROOT": str(static["root"]),
                "AWS_STORAGE_BUCKET_NAME": bucket, "AWS_S3_ENDPOINT_URL": s3_endpoint,
                "AWS_S3_REGION_NAME": "us-east-1",
                "METRICS_TOKEN": token,
                "GUNICORN_MAX_REQUESTS": str(MAX_REQUESTS), "GUNICORN_MAX_REQUESTS_JITTER": "0",
                "THROTTLE_RATE_LOGIN": LOGIN_RATE, "THROTTLE_RATE_REGISTER": "100/min",
            })
            worker_metrics_port = free_port()
            worker_env = {**env, "DATABASE_URL": database_url,  # the outage is the web's, not the worker's
                          "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{worker_s3.port}", "AWS_S3_MAX_ATTEMPTS": "1",
                          "AWS_S3_CONNECT_TIMEOUT": "1", "CELERY_METRICS_PORT": str(worker_metrics_port),
                          "PROMETHEUS_MULTIPROC_DIR": str(tmp / "worker-metrics")}
            pg_exporter_port, redis_exporter_port, prometheus_port = free_port(), free_port(), free_port()
            exporter_env = clean_env(DATA_SOURCE_NAME=f"postgresql://postgres@127.0.0.1:{pg.port}/{DATABASE}"
                                                      "?sslmode=disable")
            with memory_limited_cgroup(MEMORY_LIMIT) as cgroup_procs, \
                    CeleryWorker(worker_env, cgroup_procs=cgroup_procs) as worker, \
                    Gunicorn(env, workers=2, cgroup_procs=cgroup_procs) as web, \
                    Program(["prometheus-postgres-exporter", f"--web.listen-address=127.0.0.1:{pg_exporter_port}",
                             f"--extend.query-path={POSTGRES_EXPORTER_QUERIES}", "--log.level=warn"],
                            exporter_env) as pg_exporter, \
                    Program(["prometheus-redis-exporter", "--redis.addr=redis://127.0.0.1:6379",
                             f"--web.listen-address=127.0.0.1:{redis_exporter_port}"], clean_env()) as redis_exporter:
                wait_for_http(f"http://127.0.0.1:{worker_metrics_port}/metrics", timeout=60, process=worker.process)
                wait_for_http(f"http://127.0.0.1:{pg_exporter_port}/metrics", process=pg_exporter.process)
                wait_for_http(f"http://127.0.0.1:{redis_exporter_port}/metrics", process=redis_exporter.process)
                config = derive_config(yaml.safe_load(LOCAL_CONFIG.read_text()), {
                    "web:8080": f"127.0.0.1:{web.port}",
                    "worker:9808": f"127.0.0.1:{worker_metrics_port}",
                    "postgres-exporter:9187": f"127.0.0.1:{pg_exporter_port}",
                    "redis-exporter:9121": f"127.0.0.1:{redis_exporter_port}",
                    "localhost:9090": f"127.0.0.1:{prometheus_port}",
                })
                with Prometheus(config, RULES_DIR, tmp / "prometheus", port=prometheus_port) as prometheus:
                    prometheus.wait_for_targets_up(timeout=30)
                    app = App(web.port)
                    traffic_started = time.monotonic()
                    try:
                        run = drive_traffic(app, db_proxy, worker_s3)
                    except AssertionError as error:
                        logs = []
                        for name, process in (("worker", worker), ("web", web), ("prometheus", prometheus)):
                            (tmp / f"{name}.log").write_text("\n".join(process.lines()))
                            logs.append(str(tmp / f"{name}.log"))
                        raise AssertionError(f"{error}\nthe processes' output: {' '.join(logs)}") from None
                    traffic_seconds = time.monotonic() - traffic_started
                    yield {"prometheus": prometheus, "app": app, "run": run, "web": web, "worker": worker,
                           "started": started, "traffic_seconds": traffic_seconds,
                           "memory_limited": cgroup_procs is not None}


# --- helpers for the checks -----------------------------------------------------------------------


def wait_for_value(prometheus: Prometheus, expr: str, expected: float, timeout: float = 15) -> float | None:
    """Poll until ``expr`` equals ``expected`` (scrapes lag the traffic by up to an interval)."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = prometheus.value(expr)
        if value == expected:
            return value
        time.sleep(0.25)
    return value


def booted_worker_pids(lines: list[str]) -> list[int]:
    return [int(pid) for line in lines for pid in re.findall(r"Booting worker with pid: (\d+)", line)]


def describe(result: list[dict]) -> str:
    if not result:
        return "no data"
    shown = []
    for series in result[:3]:
        labels = {k: v for k, v in series["metric"].items() if k not in ("job", "instance", "environment")}
        value = float(series["value"][1])
        text = f"{value:.4g}"
        shown.append(f"{text} {labels}" if labels else text)
    more = f" (+{len(result) - 3} more)" if len(result) > 3 else ""
    return "; ".join(shown) + more


MEMORY_LIMIT = 3 * 1024**3  # the app and the worker run in a cgroup with this limit, as on ECS


# Queries allowed to return no sample, with the reason checked at run time.
UNHANDLED_EXCEPTIONS = ("django_http_exceptions_total_by_type_total", "django_http_exceptions_total_by_view_total")


def allowed_empty(expr: str, live: dict) -> str | None:
    if "activelog_container_memory_limit_bytes" in expr and not live["memory_limited"]:
        # The family is left out when the container has no limit (activelog/container.py); the
        # test gives the app a limited cgroup whenever this machine lets it create one.
        return "this machine would not create a memory-limited cgroup, so the app has no limit to report"
    if expr in UNHANDLED_EXCEPTIONS:
        # Their series are born with the first unhandled exception (a 500); the traffic has none,
        # and the panels reading them answer 0 meanwhile (checked with every panel above).
        return "no unhandled exception in the traffic"
    return None


# --- the checks -----------------------------------------------------------------------------------


def test_gunicorn_recycled_its_workers_during_the_traffic(live):
    pids = booted_worker_pids(live["web"].lines())
    recycles = len(set(pids)) - 2
    print(f"\ngunicorn worker pids booted: {len(set(pids))} ({recycles} recycles at max_requests={MAX_REQUESTS})")
    assert recycles >= MIN_RECYCLES, f"only {recycles} recycles: {pids}"


def test_request_totals_equal_the_requests_sent_across_recycled_workers(live):
    """prometheus_client's multiprocess files of recycled workers still count (compacted into the
    archive on child_exit): the totals Prometheus reads equal what was sent. /health and /metrics
    are answered before django-prometheus' middleware, so they are not in the totals."""
    prometheus, app = live["prometheus"], live["app"]
    web = 'job="activelog-web", environment="local"'
    before = wait_for_value(prometheus, f"sum(django_http_responses_before_middlewares_total{{{web}}})", app.sent)
    requests_before = prometheus.value(f"sum(django_http_requests_before_middlewares_total{{{web}}})")
    print(f"\nrequests sent {app.sent} (+{app.operations} to /health and /metrics, not counted by the app; "
          f"statuses {sorted(app.statuses.items())}); Prometheus: responses_before_middlewares {before}, "
          f"requests_before_middlewares {requests_before}")
    assert before == app.sent
    assert requests_before == app.sent


def test_every_response_is_counted_by_status_and_view(live):
    prometheus, app = live["prometheus"], live["app"]
    web = 'job="activelog-web", environment="local"'
    wait_for_value(prometheus, f"sum(django_http_responses_before_middlewares_total{{{web}}})", app.sent)
    by_status = prometheus.value(f"sum(django_http_responses_total_by_status_view_method_total{{{web}}})")
    by_status_5xx = prometheus.value(
        f'sum(django_http_responses_total_by_status_view_method_total{{{web}, status=~"5.."}})')
    sent_5xx = sum(count for status, count in app.statuses.items() if status >= 500)
    print(f"\nresponses_by_status_view_method {by_status} of {app.sent} (5xx: {by_status_5xx} of {sent_5xx})")
    assert (by_status, by_status_5xx) == (app.sent, sent_5xx)


def test_the_worker_is_scraped_through_the_whole_run(live):
    """The worker's own endpoint keeps answering within the scrape timeout, so the export it failed
    reaches Prometheus (its counters exist nowhere else)."""
    prometheus = live["prometheus"]
    failed = wait_for_value(prometheus, 'sum(activelog_exports_failed_total{job="activelog-worker"})', 1)
    health = {t["labels"]["task"]: (t["health"], t["lastError"]) for t in prometheus.targets()}
    assert failed == 1, f"the worker's failed export is not in Prometheus ({failed}); targets: {health}"
    assert prometheus.value('min_over_time(up{job="activelog-worker"}[10m])') == 1, health


def test_every_dashboard_query_returns_data(live):
    prometheus = live["prometheus"]
    # The last scrapes of the traffic's end (the failed export's counter on the worker) are in.
    wait_for_value(prometheus, 'sum(activelog_exports_failed_total{job="activelog-worker"})', 1)
    rows, problems = [], []
    for _, title, target in panel_queries():
        expr = substitute(target["expr"], **MACROS)
        answer = prometheus.query(expr)
        where = f"{title} [{target['refId']}]"
        if answer["status"] != "success":
            problems.append(f"{where}: {answer.get('error')} in {expr}")
            rows.append((where, f"ERROR {answer.get('error')}"))
            continue
        result = answer["data"]["result"]
        numbers = [float(s["value"][1]) for s in result]
        rows.append((where, describe(result)))
        if not any(not math.isnan(n) for n in numbers):
            reason = allowed_empty(expr, live)
            if reason:
                rows[-1] = (where, f"no data: allowed, {reason}")
            else:
                problems.append(f"{where}: {'only NaN' if numbers else 'no data'} for {expr}")
    width = max(len(where) for where, _ in rows)
    print("\n" + "\n".join(f"{where:<{width}}  {value}" for where, value in rows))
    print(f"\n{len(rows)} queries, {len(problems)} without data; run took "
          f"{time.monotonic() - live['started']:.0f} s (traffic {live['traffic_seconds']:.0f} s)")
    assert not problems, "\n".join(problems)
    # The outage is visible, not only "some data": the 5xx ratio over the run is above 0.
    (five_xx,) = [t for _, title, t in panel_queries() if title == "5xx ratio"]
    assert prometheus.value(substitute(five_xx["expr"], **MACROS)) > 0


def test_every_dashboard_metric_name_was_scraped(live):
    from tests.infra.test_grafana import dashboard_metric_names

    scraped = live["prometheus"].metric_names()
    missing = sorted(name for name in dashboard_metric_names() - scraped if not allowed_empty(name, live))
    assert not missing, f"dashboards read metrics Prometheus never received: {missing}"


def test_every_metric_an_alert_or_recording_rule_reads_was_scraped(live):
    """The rules' exporter metrics (pg_*, redis_*) included: a misspelt name would make an alert
    that can never fire and still evaluates as healthy."""
    from tests.infra.test_grafana import metric_names, recorded_names

    rules = [rule for path in sorted(RULES_DIR.glob("*.yml"))
             for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]
    read = set().union(*(metric_names(rule["expr"]) for rule in rules)) - recorded_names()
    scraped = live["prometheus"].metric_names()
    missing = sorted(name for name in read - scraped if name != "up" and not allowed_empty(name, live))
    assert "pg_up" in read and "redis_up" in read
    assert not missing, f"rules read metrics Prometheus never received: {missing}"


def _rules_by_name(live) -> list[dict]:
    groups = live["prometheus"].api("rules")["data"]["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_every_rule_loads_and_evaluates_without_error(live):
    prometheus = live["prometheus"]
    defined = [rule for path in sorted(Path(RULES_DIR).glob("*.yml"))
               for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]
    loaded = _rules_by_name(live)
    assert len(loaded) == len(defined), "Prometheus loaded another number of rules than the files define"
    deadline = time.monotonic() + 10  # every rule evaluated at least once (health "unknown" before)
    while any(rule["health"] == "unknown" for rule in loaded) and time.monotonic() < deadline:
        time.sleep(0.5)
        loaded = _rules_by_name(live)
    unhealthy = [(r["name"], r["health"], r.get("lastError")) for r in loaded
                 if r["health"] != "ok" or r.get("lastError")]
    assert not unhealthy, unhealthy
    for rule in defined:
        answer = prometheus.query(rule["expr"])
        assert answer["status"] == "success", (rule.get("alert") or rule.get("record"), answer)
    recorded = [rule["record"] for rule in defined if "record" in rule]
    empty = [name for name in recorded if not prometheus.query(name)["data"]["result"]]
    assert not empty, f"recording rules without a sample after the traffic: {empty}"


def test_only_the_alerts_this_traffic_explains_fire(live):
    """The failed export fires ActiveLogExportFailures (it has no `for`); the 503s and slow requests
    of the outage may trip the SLO burn-rate alerts. Nothing else may fire."""
    firing = {r["name"]: r for r in _rules_by_name(live) if r.get("type") == "alerting" and r["state"] == "firing"}
    deadline = time.monotonic() + 10
    while "ActiveLogExportFailures" not in firing and time.monotonic() < deadline:
        time.sleep(0.5)
        firing = {r["name"]: r for r in _rules_by_name(live) if r.get("type") == "alerting" and r["state"] == "firing"}
    explained = {name for name, rule in firing.items()
                 if name == "ActiveLogExportFailures"
                 or re.search(r"activelog_request_(errors|slow)", rule["query"])}
    print(f"\nfiring: {sorted(firing)}")
    assert "ActiveLogExportFailures" in firing, "the failed export did not fire ActiveLogExportFailures"
    assert set(firing) == explained, f"unexpected alerts firing: {sorted(set(firing) - explained)}"

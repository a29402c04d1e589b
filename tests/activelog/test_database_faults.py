"""The database failing under the production server (gunicorn, DJANGO_ENV=production): refused,
silent, or a table locked by a migration.

The server reaches the real PostgreSQL through a FaultyProxy (tests/support/faults.py) that a test
makes refuse or stall; the lock is taken by another connection on the real database. Every answer
must be a 503 with Retry-After (problem+json under /api, the HTML page elsewhere) within the
deadline, /health/live must keep answering, and requests must succeed again once the database is
back.
"""

import http.client
import json
import os
import re
import subprocess
import sys
import time
import uuid
from urllib.parse import urlparse

import psycopg
import pytest

from tests.support.faults import FaultyProxy
from tests.support.servers import PRODUCTION_ENV, ROOT, Gunicorn, clean_env, collect_static, migrated_database

pytestmark = pytest.mark.slow

PASSWORD = "fault-tolerant-Pa55"
# Small deadlines keep the run short; the defaults are checked separately below.
STATEMENT_TIMEOUT = 1.5  # seconds: the client-side deadline is this plus a 2-second grace
LOCK_TIMEOUT = 0.5
REFUSED_WITHIN = 3.0  # the acceptance bound, with the default pool settings
MARGIN = 1.0  # process and scheduling slack on a busy CI machine
SECRETS_IN_ERRORS = re.compile(r"(?i)psycopg|connection|refused|timeout|127\.0\.0\.1|traceback|statement|lock")


def _runner_database_url() -> str:
    """Beside the database the suite runs on (DATABASE_URL), so parallel runs never share it."""
    url = urlparse(os.environ["DATABASE_URL"])
    return url._replace(path=f"{url.path}_faults").geturl()


@pytest.fixture(scope="module")
def database_url():
    return migrated_database(_runner_database_url(), empty=True)


@pytest.fixture(scope="module")
def proxy():
    with FaultyProxy("127.0.0.1", 5432) as faulty:
        yield faulty


@pytest.fixture(scope="module")
def server(database_url, proxy, tmp_path_factory):
    name = urlparse(database_url).path.lstrip("/")
    env = clean_env(**{
        **PRODUCTION_ENV,
        "DJANGO_STATIC_ROOT": str(collect_static(tmp_path_factory.mktemp("static"))),
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{proxy.port}/{name}",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "CACHE_KEY_PREFIX": f"faults-{uuid.uuid4().hex[:8]}",
        "DATABASE_STATEMENT_TIMEOUT": str(STATEMENT_TIMEOUT),
        "DATABASE_LOCK_TIMEOUT": str(LOCK_TIMEOUT),
    })
    with Gunicorn(env, workers=1) as g:
        yield g


def request(server, method, path, *, body=None, headers=None, timeout=30.0):
    """(status, headers, body, seconds) over real HTTP, as the load balancer forwards it; status
    None when no answer came within ``timeout``."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=timeout)
    all_headers = {"Host": "localhost", "X-Forwarded-Proto": "https", **(headers or {})}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    started = time.monotonic()
    try:
        connection.request(method, path, body=payload, headers=all_headers)
        response = connection.getresponse()
        data = response.read()
    except TimeoutError:
        return None, {}, b"", time.monotonic() - started
    finally:
        connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data, time.monotonic() - started


@pytest.fixture(scope="module")
def access_token(server):
    status, _, body, _ = request(server, "POST", "/api/v1/auth/register",
                                 body={"username": "faulty", "email": "faulty@example.com", "password": PASSWORD})
    assert status == 201, body
    token = json.loads(body)["access"]
    # One activity, so that listing reads a page from the database: with none, the whole answer
    # (the user, a total of 0) can come from Redis, which an outage of the database leaves serving.
    status, _, body, _ = request(server, "POST", "/api/v1/activities", headers={"Authorization": f"Bearer {token}"},
                                 body={"activity_type": "running", "duration_minutes": 30,
                                       "activity_date": "2026-03-01T07:00:00Z"})
    assert status == 201, body
    return token


@pytest.fixture(scope="module")
def session_cookie(server, access_token):
    """A browser session (the login form, with its CSRF token)."""
    status, headers, page, _ = request(server, "GET", "/accounts/login")
    assert status == 200
    csrf_cookie = re.search(r"csrftoken=([^;]+)", headers["set-cookie"]).group(1)
    form_token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    form = f"csrfmiddlewaretoken={form_token}&identifier=faulty&password={PASSWORD}"
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    connection.request("POST", "/accounts/login", body=form, headers={
        "Host": "localhost", "X-Forwarded-Proto": "https", "Referer": "https://localhost/accounts/login",
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf_cookie}",
    })
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 302, response.status
    cookies = dict(re.findall(r"(sessionid|csrftoken)=([^;]+)", response.getheader("Set-Cookie")))
    return f"sessionid={cookies['sessionid']}"


def list_activities(server, token, timeout=30.0):
    return request(server, "GET", "/api/v1/activities", headers={"Authorization": f"Bearer {token}"},
                   timeout=timeout)


@pytest.fixture
def healthy(server, proxy, access_token):
    """Each test starts and ends with a working database path (and checks the recovery)."""
    proxy.heal()
    wait_until_served(server, access_token)
    yield
    proxy.heal()
    wait_until_served(server, access_token)


def wait_until_served(server, token, within: float = 15.0) -> float:
    """Seconds until the API answers 200 again (fails after ``within``)."""
    started = time.monotonic()
    while True:
        status, _, body, _ = list_activities(server, token)
        if status == 200:
            return time.monotonic() - started
        assert time.monotonic() - started < within, f"still {status} after {within:g} s: {body[:300]!r}"
        time.sleep(0.2)


def causes(server, request_ids, within: float = 5.0) -> list[str | None]:
    """What the server logged as the cause of each of these requests' 503 (activelog/database.py)."""
    deadline = time.monotonic() + within
    while True:
        found = {}
        for line in server.lines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("logger") == "activelog.database" and record.get("request_id") in request_ids:
                found[record["request_id"]] = record["error"]
        if len(found) == len(set(request_ids)) or time.monotonic() > deadline:  # the output is read by a thread
            return [found.get(request_id) for request_id in request_ids]
        time.sleep(0.1)


def assert_unavailable_problem(status, headers, body, path):
    assert status == 503, (status, body[:500])
    assert headers["content-type"] == "application/problem+json", headers
    assert headers.get("retry-after", "").isdigit() and int(headers["retry-after"]) >= 1, headers
    problem = json.loads(body)
    assert problem["type"] == "https://activelog.dev/problems/service-unavailable"
    assert problem["status"] == 503
    assert problem["instance"] == path
    assert problem["request_id"] == headers["x-request-id"]
    # What failed inside stays in the logs.
    assert not SECRETS_IN_ERRORS.search(problem["detail"]), problem["detail"]
    assert set(problem) <= {"type", "title", "status", "detail", "instance", "request_id", "trace_id"}


def test_refused_database_is_a_fast_503_problem_and_the_server_recovers(server, proxy, access_token, healthy):
    proxy.refuse()

    # The first request meets the pooled connection the outage cut; the next ones need a new one.
    answers = [(list_activities(server, access_token), "/api/v1/activities") for _ in range(3)]
    login = {"email": "faulty@example.com", "password": PASSWORD}
    answers.append((request(server, "POST", "/api/v1/auth/login", body=login), "/api/v1/auth/login"))
    timings = [answer[3] for answer, _ in answers]
    print(f"refused: {', '.join(f'{answer[0]} after {answer[3]:.2f} s' for answer, _ in answers)}")
    for (status, headers, body, _), path in answers:
        assert_unavailable_problem(status, headers, body, path)
    assert max(timings) <= REFUSED_WITHIN, timings
    # psycopg's OperationalError: the cut connection; PoolTimeout: no new one could be opened.
    assert set(causes(server, [answer[1]["x-request-id"] for answer, _ in answers])) <= {
        "OperationalError", "PoolTimeout"}

    # Liveness never depends on the database; /health reports it.
    assert request(server, "GET", "/health/live")[0] == 200
    status, _, body, _ = request(server, "GET", "/health")
    assert status == 503 and json.loads(body)["services"]["database"]["status"] == "down"

    proxy.heal()
    print(f"refused: served again {wait_until_served(server, access_token):.2f} s after the database came back")


def test_refused_database_is_a_503_page_for_the_browser(server, proxy, session_cookie, healthy):
    status, _, _, _ = request(server, "GET", "/dashboard", headers={"Cookie": session_cookie})
    assert status == 200
    proxy.refuse()

    answers = [request(server, "GET", "/dashboard", headers={"Cookie": session_cookie}) for _ in range(2)]
    print(f"refused (browser): {', '.join(f'{a[0]} after {a[3]:.2f} s' for a in answers)}")
    for status, headers, body, seconds in answers:
        assert status == 503, body[:500]
        assert headers["content-type"].startswith("text/html")
        assert headers.get("retry-after", "").isdigit()
        page = body.decode()
        assert "Temporarily unavailable" in page and 'class="site-header"' in page  # the site's layout
        assert not re.search(r"(?i)psycopg|refused|traceback", page)
        assert seconds <= REFUSED_WITHIN


def test_stalled_database_is_a_503_within_the_deadline(server, proxy, access_token, healthy):
    proxy.stall()
    deadline = STATEMENT_TIMEOUT + 2  # the server cannot cancel a statement it never received

    # The pooled connection stalls mid-query; the next request cannot open a new one.
    answers = [list_activities(server, access_token, timeout=deadline + 30) for _ in range(2)]
    print(f"stalled: {', '.join(f'{a[0]} after {a[3]:.2f} s' for a in answers)} (deadline {deadline:g} s)")
    for status, headers, body, _ in answers:
        assert_unavailable_problem(status, headers, body, "/api/v1/activities")
    assert max(answer[3] for answer in answers) <= deadline + MARGIN
    assert set(causes(server, [answer[1]["x-request-id"] for answer in answers])) <= {"DeadlineExceeded", "PoolTimeout"}
    assert request(server, "GET", "/health/live", timeout=2)[0] == 200

    proxy.heal()
    print(f"stalled: served again {wait_until_served(server, access_token):.2f} s after the network came back")


def test_table_locked_by_a_migration_is_a_503_within_the_lock_timeout(server, database_url, access_token, healthy):
    parsed = urlparse(database_url)
    with psycopg.connect(host=parsed.hostname, port=parsed.port, user=parsed.username,
                         dbname=parsed.path.lstrip("/")) as holder:
        holder.execute("LOCK TABLE activities_activity IN ACCESS EXCLUSIVE MODE")  # held until rollback
        try:
            status, headers, body, seconds = list_activities(server, access_token, timeout=LOCK_TIMEOUT + 30)
        finally:
            holder.rollback()
    print(f"locked: {status} after {seconds:.2f} s (lock timeout {LOCK_TIMEOUT:g} s)")
    assert_unavailable_problem(status, headers, body, "/api/v1/activities")
    assert seconds <= LOCK_TIMEOUT + MARGIN
    assert causes(server, [headers["x-request-id"]]) == ["LockNotAvailable"]
    assert list_activities(server, access_token)[0] == 200


PRINT_DATABASE_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
db = settings.DATABASES["default"]
pool = db["OPTIONS"]["pool"]
print(json.dumps({
    "options": {k: v for k, v in db["OPTIONS"].items() if k != "pool"},
    "pool_timeout": pool["timeout"],
    "client_deadline": getattr(pool.get("connection_class"), "deadline", None),
}))
"""


def effective_database_settings(*argv: str, **env: str) -> dict:
    """The database settings a process started with ``argv`` gets, with only DATABASE_URL set."""
    script = f"import sys; sys.argv = {list(argv)!r}\n" + PRINT_DATABASE_SETTINGS
    variables = clean_env(DJANGO_SETTINGS_MODULE="activelog.settings",
                          DATABASE_URL="postgres://postgres@127.0.0.1:5432/activelog_settings", **env)
    variables = {k: v for k, v in variables.items() if not k.startswith("DATABASE_") or k == "DATABASE_URL"} | env
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=variables, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def libpq_options(options: dict) -> dict[str, int]:
    """``-c statement_timeout=5000 -c lock_timeout=3000`` -> {"statement_timeout": 5000, ...}."""
    return {name: int(value) for name, value in re.findall(r"-c\s*(\w+)=(\d+)", options.get("options", ""))}


def test_default_deadlines_of_a_web_process_are_at_most_ten_seconds():
    current = effective_database_settings("gunicorn", "-c", "gunicorn.conf.py", "activelog.wsgi")
    options, server_side = current["options"], libpq_options(current["options"])

    assert server_side["statement_timeout"] == 5000
    assert server_side["lock_timeout"] == 3000
    assert 0 < server_side["lock_timeout"] <= server_side["statement_timeout"]
    # A silent server: the client gives up shortly after the server would have cancelled.
    assert server_side["statement_timeout"] / 1000 < current["client_deadline"] <= 10
    # A dead network: unacknowledged data, or unanswered keepalive probes, end the connection.
    assert options["keepalives"] == 1
    assert options["keepalives_idle"] + options["keepalives_interval"] * options["keepalives_count"] <= 10
    assert 0 < options["tcp_user_timeout"] <= 10_000
    # A refused database: no request waits long for a connection.
    assert current["pool_timeout"] <= 3
    assert options["connect_timeout"] <= 10


def test_the_worker_gets_longer_statements_and_commands_none():
    worker = libpq_options(effective_database_settings("celery", "-A", "activelog", "worker")["options"])
    assert worker["statement_timeout"] > 5000
    assert 0 < worker["lock_timeout"] <= worker["statement_timeout"]

    # Migrations (an index on a large table) run as long as they need.
    command = effective_database_settings("manage.py", "migrate", "--noinput")
    assert libpq_options(command["options"]) == {}
    assert command["client_deadline"] is None
    assert command["options"]["keepalives"] == 1

    # The variables win over every default.
    overridden = effective_database_settings("manage.py", "migrate", DATABASE_STATEMENT_TIMEOUT="30",
                                             DATABASE_LOCK_TIMEOUT="2.5")
    assert libpq_options(overridden["options"]) == {"statement_timeout": 30000, "lock_timeout": 2500}
    assert overridden["client_deadline"] == 32

"""schemathesis against the production-profile server: gunicorn (2 workers) on a fresh, migrated
PostgreSQL database and Redis, fuzzed through the schema it serves at /api/schema with every check,
once with a bearer token and once anonymously. A fixed seed and a bounded number of examples per
operation keep it reproducible and within CI's budget (about a minute and a half on 2 cores).

A failure prints schemathesis' report: each failure with a curl command that reproduces it.
"""

import json
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
import redis

from tests.support.databases import fresh_database
from tests.support.servers import PRODUCTION_ENV, Gunicorn, clean_env, migrated_database

pytestmark = pytest.mark.slow

SEED = 20261130
MAX_EXAMPLES = 25  # per operation and phase
REDIS_URL = "redis://127.0.0.1:6379/11"
# Behind the ALB: without it the production profile redirects plain HTTP to HTTPS.
FORWARDED_PROTO = "X-Forwarded-Proto: https"
# The throttles stay on (their 429s are documented and checked), at rates a fuzzer does not reach.
THROTTLES = {f"THROTTLE_RATE_{scope}": "100000/min" for scope in ("LOGIN", "REGISTER", "REFRESH", "EXPORT", "USER",
                                                                     "ANON")}

# Schema-valid requests that the server may still refuse with a 400, by rules a JSON schema cannot
# state: which password is right, whether a token is still valid, whether a username is taken,
# "not in the future", the range of dates the service keeps, control characters in text. Every
# other answer to valid data (a 415, a 422, a 5xx...) is still a failure of positive_data_acceptance.
BUSINESS_RULES = {
    "POST /api/v1/auth/register": "the username or email is taken; the password validators",
    "POST /api/v1/auth/logout": "the refresh token is not a valid one of this user",
    "PATCH /api/v1/users/me": "an IANA time zone name; an email another account has",
    "DELETE /api/v1/users/me": "the password is the account's",
    "POST /api/v1/users/me/password": "the current password is right; the password validators",
    "GET /api/v1/activities": "dates in the kept range; text without control characters",
    "POST /api/v1/activities": "activity_date not in the future; trimmed lengths; tags",
    "PUT /api/v1/activities/{activity_id}": "as POST /api/v1/activities",
    "PATCH /api/v1/activities/{activity_id}": "as POST /api/v1/activities",
    "GET /api/v1/activities/export/csv": "as GET /api/v1/activities",
    "POST /api/v1/activities/export/pdf": "start_date not after end_date; at most 5 years",
    "GET /api/v1/activities/stats": "start_date not after end_date; dates in the kept range",
    "GET /api/v1/analytics/trends/monthly": "activity_type without control characters",
}
# schemathesis' defaults, restated because an operation's own list replaces them.
POSITIVE_EXPECTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
NEGATIVE_EXPECTED = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]


def schemathesis_config() -> str:
    lines = [
        "[checks.positive_data_acceptance]",
        f"expected-statuses = {json.dumps(POSITIVE_EXPECTED)}",
        "",
        # schemathesis reads 400 bodies to narrow what it generates next, with a parser for DRF's
        # {field: [messages]} envelope that takes a problem's `errors` member for a body field of
        # that name (and `tags.3` for a property), then reports bodies carrying such an "errors"
        # field as schema-violating. The problem format is not DRF's: that feedback is off.
        "[phases.fuzzing.error-feedback]",
        "enabled = false",
        "",
        # Chains of calls with valid data: negative data is the coverage and fuzzing phases' job.
        # (In chains, a null query value is sent as the text "null", which is a valid string, and
        # reported as invalid data accepted.)
        "[phases.stateful.generation]",
        'mode = "positive"',
        "",
        # A query string is text: a negative value of another type (a number, true, null) reaches the
        # server as text that is a perfectly valid string, and random fuzzing then reports "invalid
        # data accepted". The coverage phase sends the query parameters' negative cases knowing that;
        # fuzzing sends valid queries.
        "[[operations]]",
        'include-method = "GET"',
        'phases.fuzzing.generation.mode = "positive"',
    ]
    expected = {operation: [*POSITIVE_EXPECTED, "400"] for operation in BUSINESS_RULES}
    # The upload's content is judged by decoding it: random bytes are not an image.
    expected["POST /api/v1/activities/{activity_id}/photos"] = [*POSITIVE_EXPECTED, "400", "415"]
    for operation, statuses in expected.items():
        lines += [
            "",
            "[[operations]]",
            f'include-name = "{operation}"',  # method and path (include-method and include-path would be OR-ed)
            f"checks.positive_data_acceptance.expected-statuses = {json.dumps(statuses)}",
        ]
    # A batch refuses invalid items one by one: the valid ones are created and the answer is a 207
    # with each item's errors (API.md §3); only a malformed batch as a whole is a 400.
    lines += [
        "",
        "[[operations]]",
        'include-name = "POST /api/v1/activities/batch"',
        f"checks.negative_data_rejection.expected-statuses = {json.dumps([*NEGATIVE_EXPECTED, '207'])}",
    ]
    return "\n".join(lines) + "\n"


def post_json(base: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "X-Forwarded-Proto": "https"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    media = tmp_path_factory.mktemp("media")
    cache_prefix = f"schemathesis-{uuid.uuid4().hex[:8]}"
    with fresh_database("activelog_schemathesis") as database_url:
        migrated_database(database_url)
        env = clean_env(**PRODUCTION_ENV, **THROTTLES, DATABASE_URL=database_url, REDIS_URL=REDIS_URL,
                        CACHE_KEY_PREFIX=cache_prefix, DJANGO_MEDIA_ROOT=media, JWT_ACCESS_TOKEN_MINUTES=60)
        try:
            with Gunicorn(env, workers=2) as gunicorn:
                yield gunicorn
        finally:
            cache = redis.Redis.from_url(REDIS_URL)
            for key in cache.scan_iter(f"{cache_prefix}:*"):
                cache.delete(key)


@pytest.fixture(scope="module")
def access_token(server) -> str:
    account = {"username": "fuzzer", "email": "fuzzer@example.com", "password": f"Fuzz-{uuid.uuid4().hex}"}
    return post_json(server.base, "/api/v1/auth/register", account)["access"]


def run_schemathesis(server, tmp_path, *headers: str) -> tuple[subprocess.CompletedProcess, int]:
    """``st run`` against the server's own schema; returns the finished process and the number of
    requests it made (counted from its HAR report)."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(schemathesis_config())
    har = tmp_path / "requests.har"
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", f"{server.base}/api/schema",
        "--checks", "all", "--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES), "--workers", "2",
        "--generation-database", "none", "--request-timeout", "30", "--no-color",
        "--report", "har", "--report-har-path", str(har), "-H", FORWARDED_PROTO,
    ]
    for header in headers:
        command += ["-H", header]
    # From tmp_path: schemathesis writes nothing into the repository.
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False)
    requests = len(json.loads(har.read_text())["log"]["entries"]) if har.exists() else 0
    return result, requests


@pytest.mark.parametrize("who", ["authenticated", "anonymous"])
def test_schemathesis_finds_no_failure(server, access_token, tmp_path, who):
    headers = [f"Authorization: Bearer {access_token}"] if who == "authenticated" else []
    started = time.monotonic()
    result, requests = run_schemathesis(server, tmp_path, *headers)
    elapsed = time.monotonic() - started
    print(f"schemathesis ({who}): {requests} requests in {elapsed:.0f} s, seed {SEED}, "
          f"{MAX_EXAMPLES} examples per operation")
    summary = result.stdout[result.stdout.rfind("SUMMARY"):] if "SUMMARY" in result.stdout else result.stdout
    print(summary)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
    assert requests > 0
    if who == "authenticated":  # the token worked: not everything was a 401
        assert "Authentication failed" not in result.stdout, summary
    assert server.process.poll() is None, "the server died"

"""The first README command's promise: with no services configured, the app runs on SQLite and
local memory, and the register → login → create → list → update → delete → restore flow works
over real HTTP."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
def embedded_server(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "DJANGO_ENV", "DJANGO_SETTINGS_MODULE"}}
    env["DJANGO_MEDIA_ROOT"] = str(tmp_path / "media")
    # The embedded default is <repo>/db.sqlite3; the test uses a private copy of that setup.
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/", timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail(f"server did not start: {process.communicate()[0].decode()}")
    yield base
    process.terminate()
    process.wait(timeout=10)


@pytest.mark.slow
def test_full_flow_over_http_on_embedded_defaults(embedded_server):
    api = embedded_server + "/api/v1"
    status, body = _call("POST", f"{api}/auth/register",
                         {"username": "newcomer", "email": "New@Example.com", "password": "a-long-passphrase-7"})
    assert status == 201, body
    status, body = _call("POST", f"{api}/auth/login", {"email": "new@example.com", "password": "a-long-passphrase-7"})
    assert status == 200, body
    token = body["access"]

    status, created = _call("POST", f"{api}/activities", {
        "activity_type": "Running", "duration_minutes": 30, "distance_km": 5.2,
        "activity_date": "2026-03-01T07:00:00Z", "tags": ["morning"]}, token)
    assert status == 201, created
    activity_url = f"{api}/activities/{created['id']}"

    status, listing = _call("GET", f"{api}/activities", token=token)
    assert (status, listing["count"], listing["results"][0]["id"]) == (200, 1, created["id"])
    assert created["tags"] == listing["results"][0]["tags"] == ["morning"]  # SQLite: prefetched, not ARRAY()

    status, records = _call("GET", f"{api}/analytics/records", token=token)  # SQLite's own pace quotient
    assert status == 200, records
    assert {kind: r["value"] for kind, r in records["records"]["running"].items()} == {
        "longest_distance_km": 5.2, "longest_duration_minutes": 30, "fastest_pace_min_per_km": 5.77}
    assert records["longest_streak_days"] == {"value": 1, "start_date": "2026-03-01", "end_date": "2026-03-01"}

    status, updated = _call("PATCH", activity_url, {"duration_minutes": 40}, token)
    assert (status, updated["duration_minutes"], updated["pace_min_per_km"]) == (200, 40, 7.69)

    assert _call("DELETE", activity_url, token=token)[0] == 204
    assert _call("GET", activity_url, token=token)[0] == 404
    status, restored = _call("POST", f"{activity_url}/restore", token=token)
    assert (status, restored["id"]) == (200, created["id"])
    assert _call("GET", f"{api}/activities", token=token)[1]["count"] == 1

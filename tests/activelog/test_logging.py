"""The JSON log lines: the formatter's redaction (what it masks, and that skipping rules whose
words a line does not contain never changes the result), and the host and app version that every
line written by a real process carries."""

import itertools
import json
import logging
import socket
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

import activelog
from activelog.logging import JsonFormatter
from activelog.redaction import _REDACTIONS, redact
from tests.support.servers import PRODUCTION_ENV, ROOT, Gunicorn, clean_env

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxMjM0NX0.c2lnbmF0dXJlLXZhbHVlLTEyMzQ1"


def every_rule(text: str) -> str:
    """The reference: every expression run over the text, no shortcut."""
    for pattern, replacement, _words in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


@pytest.mark.parametrize(("text", "secret"), [
    ('{"authorization": "Bearer abcdefgh12345678"}', "abcdefgh12345678"),
    ("AUTHORIZATION=Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
    ("sent header Bearer abcdefgh12345678 upstream", "abcdefgh12345678"),
    ('{"password": "hunter2-hunter2"}', "hunter2-hunter2"),
    ("PassWD=hunter2-hunter2", "hunter2-hunter2"),
    ("client_secret: s3cr3t-value", "s3cr3t-value"),
    ("refresh=abc.def.ghi", "abc.def.ghi"),
    ("Access='abcdef123'", "abcdef123"),
    ("X-API-Key: k-123456789", "k-123456789"),
    ("api_key=k-123456789", "k-123456789"),
    ("apikey=k-123456789", "k-123456789"),
    ("Cookie: tracker=cookie-value-123", "cookie-value-123"),
    ("sessionid=0123456789abcdef", "0123456789abcdef"),
    ("csrftoken=0123456789abcdef", "0123456789abcdef"),
    ("postgres://activelog:db-pass-word@db.internal:5432/activelog", "db-pass-word"),
    (f"token in the message {JWT} here", JWT),
])
def test_credentials_are_masked(text, secret):
    assert secret not in redact(text)
    assert redact(text) == every_rule(text)


def test_lines_without_any_rule_word_come_back_unchanged():
    line = ('{"level": "INFO", "logger": "activelog.request", "message": "GET /api/v1/activities 200", '
            '"path": "/api/v1/activities", "status": 200, "request_id": "bench-1"}')
    assert redact(line) == line


def test_the_shortcut_never_changes_the_result():
    """Every combination of words (in odd cases), separators and values, ASCII or not, gives what
    running every rule gives."""
    words = ["Authorization", "BEARER", "password", "PaSsWd", "secret", "Token", "csrftoken", "refresh",
             "ACCESS", "api-key", "Api_Key", "apikey", "cookie", "SessionId", "https://user", "eyJ",
             "pa\u017f\u017fword", "\u212aey", "api", "tok en"]
    separators = ["=", ": ", '": "', " ", "'='"]
    values = ["abcdefgh12345678", "pw:secret@host/x", f"{JWT}", "short", "caf\u00e9-\u00e9t\u00e9-123456"]
    checked = 0
    for word, separator, value in itertools.product(words, separators, values):
        for text in (f"{word}{separator}{value}", f'{{"message": "x {word}{separator}{value} y", "n": 1}}'):
            assert redact(text) == every_rule(text), text
            checked += 1
    assert checked == len(words) * len(separators) * len(values) * 2


def test_formatter_writes_redacted_json():
    record = logging.LogRecord("activelog.test", logging.WARNING, __file__, 1,
                               "login with password=%s", ("hunter2-hunter2",), None)
    line = JsonFormatter().format(record)
    assert "hunter2" not in line
    assert '"message": "login with password=***"' in line


# --- host and version on every line, from real processes ------------------------------------------

def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def manage_py_log_lines(**environment) -> list[dict]:
    """What a management command writes when it logs, through the project's own logging set-up."""
    code = ("import logging, warnings; "
            "logging.getLogger('activelog.test').warning('sign-in with password=%s', 'hunter2-hunter2'); "
            "warnings.warn('a deprecation')")
    result = subprocess.run([sys.executable, "manage.py", "shell", "-v", "0", "-c", code], cwd=ROOT,
                            env=clean_env(DJANGO_SETTINGS_MODULE="activelog.settings", **environment),
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return json_lines(result.stdout)


@pytest.mark.slow
def test_every_line_names_the_host_and_the_app_version():
    lines = manage_py_log_lines(APP_VERSION="2026.11.30-4f2a9c1")

    assert [line["logger"] for line in lines] == ["activelog.test", "py.warnings"]
    for line in lines:
        assert line["host"] == socket.gethostname()
        assert line["version"] == "2026.11.30-4f2a9c1"
        assert line["request_id"] == "-"
    assert lines[0]["message"] == "sign-in with password=***"


@pytest.mark.slow
def test_without_app_version_the_package_version_is_reported():
    lines = manage_py_log_lines()

    assert lines and {line["version"] for line in lines} == {activelog.__version__}


@pytest.mark.slow
def test_gunicorn_and_app_lines_alike_name_the_host_and_the_app_version():
    env = clean_env(**{**PRODUCTION_ENV, "LOG_LEVEL": "INFO"}, APP_VERSION="2026.11.30-4f2a9c1",
                    DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres", REDIS_URL="redis://127.0.0.1:6379/15")
    with Gunicorn(env, workers=1) as server:
        request = urllib.request.Request(f"{server.base}/api/v1/activities", headers={
            "Host": "localhost", "X-Forwarded-Proto": "https", "X-Request-ID": "host-version-1"})
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=10)
    lines = [json.loads(line) for line in server.lines()]  # every line, not only the ones looked at

    loggers = {line["logger"] for line in lines}
    assert {"gunicorn.error", "activelog.request"} <= loggers, loggers
    assert all(line["host"] == socket.gethostname() and line["version"] == "2026.11.30-4f2a9c1" for line in lines)
    request_line = next(line for line in lines if line["logger"] == "activelog.request")
    assert (request_line["request_id"], request_line["status"]) == ("host-version-1", 401)


@pytest.mark.slow
@pytest.mark.parametrize("access_log", ["", "-"])
def test_gunicorn_writes_access_lines_only_when_asked(access_log):
    """The app's request line is the access log; gunicorn adds its own only with GUNICORN_ACCESS_LOG
    (and builds none without it: activelog.logging.GunicornLogger)."""
    env = clean_env(**PRODUCTION_ENV, GUNICORN_ACCESS_LOG=access_log,
                    DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres", REDIS_URL="redis://127.0.0.1:6379/15")
    with Gunicorn(env, workers=1) as server:
        for _ in range(3):
            request = urllib.request.Request(f"{server.base}/health/live", headers={"X-Request-ID": "access-1"})
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
    lines = [json.loads(line) for line in server.lines()]
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    if access_log:
        assert len(access) >= 3 and all("GET /health/live" in line["message"] for line in access), access
    else:
        assert access == []

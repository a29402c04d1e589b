"""The JSON formatter's redaction: what it masks, and that skipping rules whose words a line
does not contain never changes the result."""

import itertools
import logging

import pytest

from activelog.logging import _REDACTIONS, JsonFormatter, redact

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

"""What must never reach a log line or an error message: credentials, tokens, passwords.

Used by the JSON log formatter on every line (activelog/logging.py) and wherever a caught error is
reported in a response or a log line (safe_error: /health, the instance metadata look-up).
"""

import re

# Belt and braces: nothing the app logs should carry credentials, but if a message or an
# exception text ever does, these are masked before the line is written. Each rule comes with
# the lower-case words one of which any text it matches must contain: most lines contain none,
# and a substring test is ~100x cheaper than running the expression over the line.
_REDACTIONS = [
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(bearer|basic)?\s*[^\s\"',}]+"), r"\1***",
     ("authorization",)),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}"), "Bearer ***", ("bearer",)),
    (re.compile(r"(?i)([\"']?(?:password|passwd|secret|token|refresh|access|api[_-]?key|cookie|sessionid|csrftoken)"
                r"[\"']?\s*[:=]\s*[\"']?)[^\s\"',}&]+"), r"\1***",
     ("passw", "secret", "token", "refresh", "access", "apikey", "api_key", "api-key", "cookie", "sessionid")),
    (re.compile(r"(\w+://[^/:@\s]*:)[^@\s]+@"), r"\1***@", ("://",)),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"), "<jwt>", ("eyj",)),
]


def redact(text: str) -> str:
    # The word test is exact only for ASCII text (case-insensitive matching also folds a few
    # non-ASCII letters onto ASCII ones, e.g. the long s onto "s"): other text takes every rule.
    # JSON lines are ASCII (non-ASCII characters are escaped).
    ascii_only = text.isascii()
    folded = text.lower() if ascii_only else ""
    for pattern, replacement, words in _REDACTIONS:
        if ascii_only and not any(word in folded for word in words):
            continue
        redacted = pattern.sub(replacement, text)
        if redacted != text:
            text = redacted
            folded = text.lower() if ascii_only else ""
    return text


def safe_error(exc: BaseException) -> str:
    """One line that says what failed, without credentials (the log redaction rules apply)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return redact(f"{type(exc).__name__}: {text}")[:200] if text else type(exc).__name__

"""PostgreSQL databases on localhost that the suite and the benchmarks share with the app processes
they start (their writes are committed, so they must not land in the suite's own test database)."""

import contextlib
import uuid
from collections.abc import Iterator
from urllib.parse import urlparse

import psycopg

SERVER_URL = "postgres://postgres@127.0.0.1:5432"
# App servers started by tests/activelog and by bench/observability.py and bench/gc_freeze.py.
OBS_DATABASE = "activelog_obs_test"
OBS_DATABASE_URL = f"{SERVER_URL}/{OBS_DATABASE}"


def _admin_connection(url: str) -> psycopg.Connection:
    parsed = urlparse(url)
    return psycopg.connect(host=parsed.hostname, port=parsed.port or 5432, user=parsed.username,
                           password=parsed.password, dbname="postgres", autocommit=True)


@contextlib.contextmanager
def fresh_database(prefix: str = "activelog_fresh") -> Iterator[str]:
    """A new, empty database (no tables) for the duration of the block; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = f"{SERVER_URL}/{name}"
    with _admin_connection(url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url
    finally:
        with _admin_connection(url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

import subprocess
import sys

import psycopg
import pytest

from tests.support.servers import ROOT, clean_env

OBS_DATABASE = "activelog_obs_test"
OBS_DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{OBS_DATABASE}"


@pytest.fixture(scope="session")
def served_database_url():
    """A migrated, emptied database for app servers the tests start as separate processes
    (their writes are committed, so they must not land in the suite's own test database)."""
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [OBS_DATABASE]).fetchone():
            conn.execute(f'CREATE DATABASE "{OBS_DATABASE}"')
    env = clean_env(DATABASE_URL=OBS_DATABASE_URL, DJANGO_DEBUG="false")
    for command in (["migrate", "--noinput", "-v0"], ["flush", "--noinput", "-v0"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)
    return OBS_DATABASE_URL

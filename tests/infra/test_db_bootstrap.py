"""The db-bootstrap task's script (infra/terraform/ecs.tf), run for real with psql against the local
PostgreSQL with log_statement = ddl, as RDS runs it (rds.tf): roles made, passwords hashed, and no
password in the server log, on stdout or on stderr, also when it fails."""

import base64
import glob
import hashlib
import hmac
import os
import secrets
import shutil
import subprocess
import textwrap

import psycopg
import pytest

from tests.infra.test_terraform import load

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="needs psql (Debian postgresql-client)")


def bootstrap_script() -> str:
    raw = load().locals["db_bootstrap_script"]
    body = raw.removeprefix("<<-EOT\n").rsplit("\n", 1)[0]
    return textwrap.dedent(body)


def server_log() -> str:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        current = conn.execute("SELECT pg_current_logfile()").fetchone()[0]
        data = conn.execute("SHOW data_directory").fetchone()[0]
        major = conn.execute("SHOW server_version_num").fetchone()[0][:2]
    debian_logs = glob.glob(f"/var/log/postgresql/postgresql-{major}-*.log")
    candidates = [os.path.join(data, current)] if current else debian_logs
    readable = [path for path in candidates if os.access(path, os.R_OK)]
    if not readable:
        pytest.skip("the PostgreSQL server log is not readable on this machine")
    return readable[0]


def scram_matches(verifier: str, password: str) -> bool:
    """RFC 5802/7677: SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>."""
    method, rest = verifier.split("$", 1)
    assert method == "SCRAM-SHA-256"
    params, keys = rest.split("$")
    iterations, salt = params.split(":")
    stored_key, _ = keys.split(":")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return hmac.compare_digest(hashlib.sha256(client_key).digest(), base64.b64decode(stored_key))


@pytest.fixture
def scratch():
    suffix = secrets.token_hex(4)
    names = {"db": f"bootstrap_{suffix}", "app": f"bootstrap_app_{suffix}", "monitoring": f"bootstrap_mon_{suffix}"}
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{names["db"]}"')
    yield names
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{names["db"]}" WITH (FORCE)')
        for role in (names["app"] + "_clone", names["app"], names["monitoring"]):
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def run(names, app_password, monitoring_password, *, monitoring_user=None):
    env = {**os.environ, "PGHOST": "127.0.0.1", "PGPORT": "5432", "PGUSER": "postgres", "PGDATABASE": names["db"],
           "PGOPTIONS": "-c log_statement=ddl", "APP_DB_USER": names["app"], "APP_DB_PASSWORD": app_password,
           "MONITORING_DB_USER": monitoring_user or names["monitoring"], "MONITORING_DB_PASSWORD": monitoring_password}
    return subprocess.run(["sh", "-c", bootstrap_script()], env=env, capture_output=True, text=True, timeout=60)


def verifier(role: str) -> str:
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        return conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", [role]).fetchone()[0]


def test_roles_are_made_with_hashed_passwords_and_no_password_is_logged(scratch):
    log = server_log()
    start = os.path.getsize(log)
    app_password, monitoring_password = "app-" + secrets.token_hex(12), "mon-" + secrets.token_hex(12)

    first = run(scratch, app_password, monitoring_password)
    later_monitoring_password = "mon-" + secrets.token_hex(12)
    second = run(scratch, "ignored-" + secrets.token_hex(12), later_monitoring_password)  # again: idempotent

    for done in (first, second):
        assert done.returncode == 0, done.stderr
        assert "db-bootstrap: application database user ready" in done.stdout
    with open(log, errors="replace") as handle:
        handle.seek(start)
        logged = handle.read()
    assert f"statement: ALTER ROLE {scratch['app']}_clone SET role" in logged  # DDL was being logged
    for secret in (app_password, monitoring_password, later_monitoring_password):
        assert secret not in logged
        assert secret not in first.stdout + first.stderr + second.stdout + second.stderr
    # The application user keeps its first password (rotation owns it); the monitoring user's is set on every run.
    assert scram_matches(verifier(scratch["app"]), app_password)
    assert scram_matches(verifier(scratch["monitoring"]), later_monitoring_password)
    assert verifier(scratch["app"] + "_clone").startswith("SCRAM-SHA-256$")
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        owner, = conn.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                              [scratch["db"]]).fetchone()
        limit, in_monitor = conn.execute("SELECT rolconnlimit, pg_has_role(rolname, 'pg_monitor', 'MEMBER') "
                                         "FROM pg_roles WHERE rolname = %s", [scratch["monitoring"]]).fetchone()
    assert (owner, limit, in_monitor) == (scratch["app"], 3, True)


def test_a_failure_names_its_sqlstate_and_logs_no_password(scratch):
    log = server_log()
    start = os.path.getsize(log)
    app_password, monitoring_password = "app-" + secrets.token_hex(12), "mon-" + secrets.token_hex(12)

    failed = run(scratch, app_password, monitoring_password, monitoring_user="pg_reserved_" + secrets.token_hex(3))

    assert failed.returncode != 0
    assert "db-bootstrap: creating the login roles failed (SQLSTATE 42939)" in failed.stderr  # reserved name
    with open(log, errors="replace") as handle:
        handle.seek(start)
        logged = handle.read()
    assert "creating the login roles failed" in logged
    for secret in (app_password, monitoring_password):
        assert secret not in logged
        assert secret not in failed.stdout + failed.stderr
    with psycopg.connect(ADMIN, autocommit=True) as conn:  # all or nothing: the DO block rolled back
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", [scratch["app"]]).fetchone()[0] == 0

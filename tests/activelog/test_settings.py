"""The settings profiles, exercised in fresh processes exactly as a deployment would start them."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent
PROD_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/activelog_a"

# Everything that could leak from the developer's or the test run's environment into the child.
SETTINGS_KEYS = {
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ENV",
    "DJANGO_SECRET_KEY",
    "JWT_SIGNING_KEY",
    "DATABASE_URL",
    "DJANGO_ALLOWED_HOSTS",
    "REDIS_URL",
    "DJANGO_DEBUG",
    "DJANGO_READ_DOT_ENV_FILE",
    "DATABASE_POOL",
    "DATABASE_POOL_MIN_SIZE",
    "DATABASE_POOL_MAX_SIZE",
    "DATABASE_POOL_TIMEOUT",
    "CACHE_KEY_PREFIX",
    "NUM_PROXIES",
    "DJANGO_SECURE_SSL_REDIRECT",
    "DJANGO_SECURE_HSTS_SECONDS",
}

pytestmark = pytest.mark.slow


def clean_env(**values: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in SETTINGS_KEYS and not key.startswith(("THROTTLE_RATE_", "DJANGO_", "JWT_", "DATABASE_"))
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(values)
    return env


def production_env(**overrides: str) -> dict[str, str]:
    values = {
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": "ci-only-" + secrets.token_hex(32),
        "JWT_SIGNING_KEY": "ci-only-jwt-" + secrets.token_hex(32),
        "DATABASE_URL": PROD_DATABASE_URL,
        "DJANGO_ALLOWED_HOSTS": "activelog.example.com",
    }
    return clean_env(**{**values, **overrides})


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def check_deploy(env):
    return run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)


def test_production_profile_passes_check_deploy():
    result = check_deploy(production_env())

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "JWT_SIGNING_KEY", "DATABASE_URL", "DJANGO_ALLOWED_HOSTS"])
def test_production_refuses_to_start_without_a_required_variable(missing):
    env = production_env()
    del env[missing]

    result = check_deploy(env)

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert missing in lines[0]
    assert "Traceback" not in result.stderr
    assert "no issues" not in result.stdout


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "JWT_SIGNING_KEY", "DATABASE_URL", "DJANGO_ALLOWED_HOSTS"])
def test_production_treats_an_empty_required_variable_as_missing(missing):
    result = check_deploy(production_env(**{missing: ""}))

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert missing in lines[0]


def test_unknown_environment_name_is_one_line_error():
    result = check_deploy(production_env(DJANGO_ENV="staging"))

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DJANGO_ENV" in lines[0]


PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "engine": db["ENGINE"],
    "options": db.get("OPTIONS", {}),
    "conn_max_age": db.get("CONN_MAX_AGE"),
    "cache": settings.CACHES["default"]["BACKEND"],
    "cache_location": settings.CACHES["default"].get("LOCATION"),
    "session_engine": settings.SESSION_ENGINE,
    "debug": settings.DEBUG,
    "throttle_rates": settings.THROTTLE_RATES,
    "jwt_key_is_secret_key": settings.SIMPLE_JWT["SIGNING_KEY"] == settings.SECRET_KEY,
    "num_proxies": settings.REST_FRAMEWORK["NUM_PROXIES"],
    "db_user": db.get("USER"),
    "db_password_is": db.get("PASSWORD"),
}, default=repr))  # the pool's connection_class is a class
"""


def effective_settings(**values: str) -> dict:
    result = run(["-c", PRINT_SETTINGS], clean_env(DJANGO_SETTINGS_MODULE="activelog.settings", **values))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_embedded_defaults_need_no_services():
    current = effective_settings()

    assert current["engine"] == "django_prometheus.db.backends.sqlite3"
    assert current["cache"] == "django_prometheus.cache.backends.locmem.LocMemCache"
    assert current["session_engine"] == "django.contrib.sessions.backends.db"
    assert current["debug"] is True
    assert current["num_proxies"] == 0
    assert current["jwt_key_is_secret_key"] is False


def test_database_url_switches_to_pooled_postgresql():
    current = effective_settings(DATABASE_URL=PROD_DATABASE_URL, DATABASE_POOL_MAX_SIZE="7")

    assert current["engine"] == "django_prometheus.db.backends.postgresql"
    assert current["options"]["pool"]["max_size"] == 7
    assert current["options"]["pool"]["min_size"] >= 1
    assert current["conn_max_age"] == 0
    assert current["cache"] == "django_prometheus.cache.backends.locmem.LocMemCache"


def test_database_pool_default_size():
    current = effective_settings(DATABASE_URL=PROD_DATABASE_URL)

    assert current["options"]["pool"]["max_size"] == 4


def test_database_pool_can_be_turned_off():
    current = effective_settings(DATABASE_URL=PROD_DATABASE_URL, DATABASE_POOL="false")

    assert current["engine"] == "django_prometheus.db.backends.postgresql"
    assert "pool" not in current["options"]
    assert current["conn_max_age"] == 60


@pytest.mark.parametrize(("env", "binding", "threshold"), [
    ({}, True, 5),
    ({"DATABASE_PREPARE_THRESHOLD": "0"}, True, None),  # behind a pooler that cannot keep them
    ({"DATABASE_SERVER_SIDE_BINDING": "false"}, False, None),  # Django's client-side binding
])
def test_repeated_statements_are_prepared_unless_turned_off(env, binding, threshold):
    current = effective_settings(DATABASE_URL=PROD_DATABASE_URL, **env)

    assert current["options"]["server_side_binding"] is binding
    assert current["options"]["prepare_threshold"] == threshold


def test_redis_url_switches_cache_and_sessions():
    current = effective_settings(REDIS_URL="redis://127.0.0.1:6379/14")

    assert current["cache"] == "django_prometheus.cache.backends.redis.RedisCache"
    assert current["cache_location"] == "redis://127.0.0.1:6379/14"
    assert current["session_engine"] == "django.contrib.sessions.backends.cached_db"
    assert current["engine"] == "django_prometheus.db.backends.sqlite3"


def test_throttle_rate_environment_override():
    current = effective_settings(THROTTLE_RATE_LOGIN="2/min")

    assert current["throttle_rates"]["login"] == "2/min"
    assert current["throttle_rates"]["register"] == "3/min"


def test_production_trusts_one_proxy_and_is_not_debug():
    result = run(["-c", PRINT_SETTINGS], production_env(DJANGO_SETTINGS_MODULE="activelog.settings", DJANGO_DEBUG="1"))

    assert result.returncode == 0, result.stderr
    current = json.loads(result.stdout)
    assert current["debug"] is False
    assert current["num_proxies"] == 1
    assert current["jwt_key_is_secret_key"] is False


@pytest.mark.parametrize(
    "jwt_key",
    [" " * 40, "short", "a" * 64, "SAME-AS-SECRET", "dev-insecure-jwt-signing-key-do-not-use-in-production"],
    ids=["blank", "too-short", "not-random", "same-as-secret-key", "dev-default"],
)
def test_check_deploy_flags_a_weak_jwt_signing_key(jwt_key):
    """RFC 7518 3.2 wants >= 256 bits for HS256; API.md: signed with JWT_SIGNING_KEY, not SECRET_KEY."""
    env = production_env()
    if jwt_key == "SAME-AS-SECRET":
        jwt_key = env["DJANGO_SECRET_KEY"]

    result = check_deploy({**env, "JWT_SIGNING_KEY": jwt_key})

    assert result.returncode != 0
    assert "JWT_SIGNING_KEY" in result.stderr
    assert "accounts.W00" in result.stderr


def test_weak_jwt_key_is_not_flagged_by_the_everyday_check():
    result = run(["manage.py", "check"], clean_env(JWT_SIGNING_KEY="short"))

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_rotated_database_credentials_override_the_url():
    current = effective_settings(DATABASE_URL="postgres://url-user:url-pass@db.internal:5432/activelog")
    assert (current["db_user"], current["db_password_is"]) == ("url-user", "url-pass")
    current = effective_settings(DATABASE_URL="postgres://url-user:url-pass@db.internal:5432/activelog",
                                 DATABASE_USER="activelog_app_clone", DATABASE_PASSWORD="rotated-pw")
    assert (current["db_user"], current["db_password_is"]) == ("activelog_app_clone", "rotated-pw")

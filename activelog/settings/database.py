"""PostgreSQL through DATABASE_URL (pooled per process), else SQLite in the project directory.

Every use of PostgreSQL has a deadline (activelog/database.py explains the three guards): the
server-side statement and lock timeouts, TCP keepalives and tcp_user_timeout, and the client's
own deadline on pooled connections. The statement and lock timeouts depend on the process: web
requests get seconds, the Celery worker (PDF reports run long queries) a couple of minutes, and
manage.py commands (migrations building an index on a large table) none; DATABASE_STATEMENT_TIMEOUT
and DATABASE_LOCK_TIMEOUT override them for any process.
"""

import math
import sys
from pathlib import Path

from activelog.settings.environment import BASE_DIR, env


def _process_kind(argv: list[str]) -> str:
    """What kind of process reads these settings, from its command line: "worker" (a Celery
    worker), "command" (a manage.py command other than the development server), else "web".

    The command line, because the settings are read before the entry point's bootstrap runs in a
    Celery worker, and the migration task runs with the web container's environment.
    """
    program = Path(argv[0]).name if argv else ""
    if program == "celery" or (program == "__main__.py" and Path(argv[0]).parent.name == "celery"):
        return "worker" if "worker" in argv[1:] else "web"
    if program in {"manage.py", "django-admin"} and len(argv) > 1 and argv[1] not in {"runserver", "testserver"}:
        return "command"
    return "web"


# (statement timeout, lock timeout) in seconds; 0 = none.
_SERVER_TIMEOUTS = {"web": (5.0, 3.0), "worker": (120.0, 10.0), "command": (0.0, 0.0)}
_PROCESS_KIND = _process_kind(sys.argv)

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] in {
    "django.db.backends.postgresql",
    "django.db.backends.postgresql_psycopg2",
}:
    from activelog.database import CLIENT_GRACE_SECONDS, DeadlineConnection

    options = DATABASES["default"].setdefault("OPTIONS", {})
    statement_timeout = env.float("DATABASE_STATEMENT_TIMEOUT", default=_SERVER_TIMEOUTS[_PROCESS_KIND][0])
    lock_timeout = env.float("DATABASE_LOCK_TIMEOUT", default=_SERVER_TIMEOUTS[_PROCESS_KIND][1])
    # Sent at connection start (libpq "options"): no extra round trip. PgBouncer refuses this
    # parameter unless it is in its ignore_startup_parameters: set both to 0 behind it and give
    # the database role the timeouts instead (ALTER ROLE ... SET statement_timeout = '5s').
    server_settings = [f"-c {name}={round(seconds * 1000)}" for name, seconds in
                       (("statement_timeout", statement_timeout), ("lock_timeout", lock_timeout)) if seconds > 0]
    if server_settings:
        options["options"] = " ".join([options.get("options", ""), *server_settings]).strip()
    # A dead network: data unacknowledged, or keepalive probes unanswered, for this long ends the
    # connection (Linux applies tcp_user_timeout to the probes too).
    network_timeout = env.float("DATABASE_NETWORK_TIMEOUT", default=9.0)
    keepalives_idle = max(1, math.ceil(network_timeout / 3))
    options.update({
        "keepalives": 1,
        "keepalives_idle": keepalives_idle,
        "keepalives_interval": max(1, math.floor((network_timeout - keepalives_idle) / 3)),
        "keepalives_count": 3,
        "tcp_user_timeout": round(network_timeout * 1000),
    })

    # Statements the process repeats (every request's few) are prepared on each connection once
    # and then only executed: PostgreSQL skips parsing and planning, which was most of its time
    # for an indexed lookup (issue 17). That needs server-side parameters (psycopg's Cursor instead
    # of Django's default ClientCursor, which inlines them). Behind PgBouncer in transaction mode
    # (before 1.21's max_prepared_statements) set DATABASE_PREPARE_THRESHOLD=0: nothing prepared.
    prepare_threshold = env.int("DATABASE_PREPARE_THRESHOLD", default=5)
    server_side_binding = env.bool("DATABASE_SERVER_SIDE_BINDING", default=True)
    options["server_side_binding"] = server_side_binding
    options["prepare_threshold"] = prepare_threshold if prepare_threshold > 0 and server_side_binding else None

    # django-prometheus's instrumented backend (>= 2.5.0 works with psycopg pools).
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
    if env.bool("DATABASE_POOL", default=True):
        # One psycopg pool per process. Size it to the number of request threads: every extra
        # connection is multiplied by processes x tasks against RDS max_connections.
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool owns connection lifetime
        options["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=4),
            # With max_size >= threads a request waits only while a connection opens (milliseconds),
            # so a longer wait means the database is not there: answer 503 soon.
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=2.0),
            # The pool retries a failed connection with a growing delay; giving up after this long
            # lets the next request try at once, so service resumes soon after an outage.
            "reconnect_timeout": env.float("DATABASE_POOL_RECONNECT_TIMEOUT", default=10.0),
            # A server that takes the bytes and never answers: the client's own deadline.
            "connection_class": DeadlineConnection.with_deadline(
                statement_timeout + CLIENT_GRACE_SECONDS if statement_timeout > 0 else None
            ),
        }
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    options["connect_timeout"] = env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    # The app's database user, from the secret that RDS rotation updates (ECS injects its username
    # and password fields at task start), overriding the credentials inside DATABASE_URL.
    if env.str("DATABASE_USER", default=""):
        DATABASES["default"]["USER"] = env.str("DATABASE_USER")
    if env.str("DATABASE_PASSWORD", default=""):
        DATABASES["default"]["PASSWORD"] = env.str("DATABASE_PASSWORD")
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.sqlite3"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

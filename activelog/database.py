"""The database failing: a deadline on every wait for PostgreSQL, and how an outage is recognised.

Three kinds of failure, three guards (the settings are in activelog/settings/database.py):

- the server is slow or a table is locked (a migration): the server-side ``statement_timeout`` and
  ``lock_timeout`` cancel the statement, and the server says so;
- the network is dead (packets dropped): TCP keepalives and ``tcp_user_timeout`` end the connection;
- the server, or something between (a proxy, a frozen host whose kernel still acknowledges), takes
  the bytes and never answers: neither guard above can see it. ``DeadlineConnection`` gives every
  wait of the client a deadline a little longer than the statement timeout.

Whichever fires, Django raises ``django.db.OperationalError`` (so do a refused connection and a
pool that cannot hand one out in time): ``is_database_unavailable`` recognises it, and the API and
the pages answer 503 with Retry-After (activelog/api/errors.py, activelog/views.py).
"""

import datetime as dt
import logging

import psycopg
from django.db.backends.signals import connection_created
from psycopg import errors as pg_errors

logger = logging.getLogger("activelog.database")

# The client gives the server this much longer than the statement timeout: when the server is
# alive its own cancellation, a clean error on a connection that stays usable, always comes first.
CLIENT_GRACE_SECONDS = 2.0
# What a 503 caused by the database tells the client; most causes (a lock held by a migration, a
# restart, a failover's first seconds) pass within seconds.
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_MESSAGE = "The database is unavailable or too slow right now. Try again shortly."


class DeadlineExceeded(psycopg.OperationalError):
    """The database did not answer within the connection's deadline; the connection was closed."""


class DeadlineConnection(psycopg.Connection):
    """A psycopg connection whose every wait for the server (a statement, fetching rows, a commit,
    a rollback, the pool's checks) ends after ``deadline`` seconds, closing the connection: its
    state is unknown then, so it must never be used again (the pool replaces it).

    The psycopg pool creates its connections from this class (``connection_class``, see
    ``with_deadline``). Waits that pass their own timeout (LISTEN/NOTIFY) keep it.
    """

    deadline: float | None = None

    @classmethod
    def with_deadline(cls, seconds: float | None) -> type["DeadlineConnection"]:
        return type(cls.__name__, (cls,), {"deadline": seconds, "__module__": cls.__module__})

    def wait(self, gen, *args, timeout: float | None = None, **kwargs):
        if timeout is not None or not self.deadline:
            return super().wait(gen, *args, timeout=timeout, **kwargs)
        try:
            return super().wait(gen, *args, timeout=self.deadline, **kwargs)
        except pg_errors._WaitTimeout:  # psycopg's own signal for an expired wait
            self.close()
            raise DeadlineExceeded(f"no answer from the database within {self.deadline:g} s") from None


def is_database_unavailable(exc: BaseException | None) -> bool:
    """Whether ``exc`` is the database failing to serve the request now, a condition that passes:
    refused or lost connections, no pooled connection in time, the client's deadline, a statement
    or lock timeout, a deadlock, the server shutting down or out of connections or disk. Django
    raises all of them as OperationalError; programming and data errors (bugs, bad input) are other
    DatabaseErrors and stay what they are, and so does a statement over one of PostgreSQL's limits
    (SQLSTATE class 54, an OperationalError too): retrying it would fail the same way."""
    from django.db import OperationalError

    if not isinstance(exc, OperationalError):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None) or ""
    return not sqlstate.startswith("54")


def log_database_unavailable(request, exc: BaseException) -> None:
    """One warning line per request answered 503 because of the database; the cause (psycopg's
    exception) says which of the failures above it was."""
    from activelog.redaction import safe_error

    cause = exc.__cause__ or exc
    logger.warning(
        "Database unavailable in %s %s: %s",
        getattr(request, "method", "?"),
        getattr(request, "path", "?"),
        safe_error(cause),
        extra={"request_id": getattr(request, "request_id", None) or "-", "error": type(cause).__name__},
    )


# psycopg's own timestamptz loader (compiled, with psycopg[binary]) in place of Django's, a Python
# subclass of psycopg's pure-Python loader that parses each value in Python and then replaces its
# time zone: 12 us a value against 1 us, and a page of the list holds 60 of them (issue 17).
_TIMESTAMPTZ = psycopg.postgres.types["timestamptz"].oid
_NATIVE_TIMESTAMPTZ_LOADER = psycopg.adapters.get_loader(_TIMESTAMPTZ, psycopg.pq.Format.TEXT)


class UTCTimestamptzLoader(psycopg.adapt.Loader):
    """psycopg's timestamptz loader, on a connection whose session time zone is UTC: its values
    are labelled datetime.timezone.utc, as Django's loader labels them. ``timezone`` is what
    Django's create_cursor compares with its own before registering its loader again; the
    compiled class cannot be subclassed, so this one lends its ``load`` (no Python frame per value)."""

    timezone = dt.UTC

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        self._native = _NATIVE_TIMESTAMPTZ_LOADER(oid, context)
        self.load = self._native.load

    def load(self, data):
        return self._native.load(data)


def load_timestamps_natively(sender, connection, **kwargs) -> None:
    """Use UTCTimestamptzLoader where it gives what Django's loader gives: Django wants UTC (USE_TZ
    without a database TIME_ZONE) and the session's time zone is UTC. Any other set-up keeps
    Django's loader. Runs each time Django takes a connection (from the pool: after Django has set
    its adapters and time zone)."""
    if connection.vendor != "postgresql" or connection.timezone is not dt.UTC:
        return
    pg = connection.connection
    if pg.info.parameter_status("TimeZone") != "UTC":
        return
    if pg.adapters.get_loader(_TIMESTAMPTZ, psycopg.pq.Format.TEXT) is not UTCTimestamptzLoader:
        pg.adapters.register_loader(_TIMESTAMPTZ, UTCTimestamptzLoader)


connection_created.connect(load_timestamps_natively, dispatch_uid="activelog.database.load_timestamps_natively")

"""activelog/database.py: the client's deadline on a silent server, and which errors are an outage."""

import time

import psycopg
import pytest
from django.db import DataError, IntegrityError, OperationalError, ProgrammingError
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout

from activelog.database import DeadlineConnection, DeadlineExceeded, is_database_unavailable
from tests.support.faults import FaultyProxy


def connect(port: int, deadline: float) -> DeadlineConnection:
    return DeadlineConnection.with_deadline(deadline).connect(
        host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True, connect_timeout=5)


def test_a_silent_server_ends_the_wait_at_the_deadline_and_the_connection():
    with FaultyProxy("127.0.0.1", 5432) as proxy, connect(proxy.port, deadline=0.5) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        proxy.stall()

        started = time.monotonic()
        with pytest.raises(DeadlineExceeded, match=r"within 0\.5 s"):
            conn.execute("SELECT 1")

        assert 0.5 <= time.monotonic() - started < 1.5
        assert conn.closed  # its state is unknown: never used again
        assert isinstance(DeadlineExceeded(), psycopg.OperationalError)  # Django: OperationalError


def test_a_wait_with_its_own_timeout_and_a_slow_answer_within_the_deadline_are_untouched():
    with connect(5432, deadline=1.0) as conn:
        assert conn.execute("SELECT pg_sleep(0.3), 1").fetchone()[1] == 1
        assert list(conn.notifies(timeout=1.5)) == []  # LISTEN/NOTIFY's own timeout (longer) wins
        assert not conn.closed


def test_without_a_deadline_it_is_a_plain_connection():
    with connect(5432, deadline=None) as conn:
        assert conn.execute("SELECT pg_sleep(0.2), 2").fetchone()[1] == 2


def wrapped(cause: Exception, django_type=OperationalError) -> Exception:
    """As Django raises it: its own exception type, psycopg's as the cause."""
    error = django_type(str(cause))
    error.__cause__ = cause
    return error


@pytest.mark.parametrize("cause", [
    psycopg.OperationalError("connection failed: Connection refused"),
    psycopg.OperationalError("server closed the connection unexpectedly"),
    PoolTimeout("couldn't get a connection after 2.00 sec"),
    DeadlineExceeded("no answer from the database within 7 s"),
    pg_errors.QueryCanceled("canceling statement due to statement timeout"),
    pg_errors.LockNotAvailable("canceling statement due to lock timeout"),
    pg_errors.DeadlockDetected("deadlock detected"),
    pg_errors.AdminShutdown("terminating connection due to administrator command"),
    pg_errors.TooManyConnections("sorry, too many clients already"),
], ids=lambda cause: type(cause).__name__)
def test_an_outage_is_unavailable(cause):
    assert is_database_unavailable(wrapped(cause))


@pytest.mark.parametrize("error", [
    wrapped(pg_errors.ProgramLimitExceeded("index row size exceeds maximum")),
    wrapped(pg_errors.UndefinedTable('relation "x" does not exist'), ProgrammingError),
    wrapped(pg_errors.UntranslatableCharacter("unsupported Unicode escape sequence"), DataError),
    wrapped(pg_errors.UniqueViolation("duplicate key value"), IntegrityError),
    RuntimeError("boom"),
    None,
], ids=["program-limit", "programming", "data", "integrity", "not-a-database-error", "none"])
def test_a_bug_or_bad_input_is_not(error):
    assert not is_database_unavailable(error)


@pytest.mark.django_db
def test_a_statement_the_api_repeats_is_prepared_on_its_connection(user):
    """settings/database.py: server-side parameters and psycopg's prepare threshold, so PostgreSQL
    plans the detail query once per connection instead of on every request."""
    from django.db import connection

    from tests.support.api import bearer_client
    from tests.support.factories import ActivityFactory

    activities = [ActivityFactory(user=user, title="Prepared once") for _ in range(6)]
    api = bearer_client(user)
    # psycopg prepares a statement on its fifth execution. Six activities, each read once: an
    # activity read again comes from the cache (selectors.activity_get's ``kept``), without SQL.
    for activity in activities:
        response = api.get(f"/api/v1/activities/{activity.pk}")
        assert response.status_code == 200 and response.json()["title"] == "Prepared once"

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
                       ['%FROM "activities_activity"%'])
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('"activities_activity"."id" = $' in statement for statement in prepared), prepared


@pytest.mark.django_db
def test_timestamps_come_through_psycopgs_compiled_loader_as_utc(user):
    """activelog/database.py: psycopg's own timestamptz loader replaces Django's Python one; the
    values are the same instants with the same label, datetime.timezone.utc."""
    import datetime as dt

    from django.db import connection

    from activelog.database import UTCTimestamptzLoader
    from activities.models import Activity
    from tests.support.factories import ActivityFactory

    paris = dt.timezone(dt.timedelta(hours=2))
    moment = dt.datetime(2026, 6, 1, 7, 30, 15, 123456, tzinfo=paris)
    ActivityFactory(user=user, activity_date=moment)
    with connection.cursor() as cursor:
        assert cursor.adapters.get_loader(1184, psycopg.pq.Format.TEXT) is UTCTimestamptzLoader
    activity = Activity.objects.get(user=user)
    assert activity.activity_date == moment and activity.activity_date.tzinfo is dt.UTC
    assert activity.activity_date.isoformat() == "2026-06-01T05:30:15.123456+00:00"
    assert activity.created_at.tzinfo is dt.UTC
    assert (Activity.objects.filter(user=user).values_list("activity_date", flat=True).get()
            == dt.datetime(2026, 6, 1, 5, 30, 15, 123456, tzinfo=dt.UTC))


@pytest.mark.django_db
def test_a_session_in_another_time_zone_keeps_djangos_loader():
    from django.db import connection
    from django.db.backends.postgresql.psycopg_any import register_tzloader

    from activelog.database import UTCTimestamptzLoader, load_timestamps_natively

    connection.ensure_connection()
    pg = connection.connection
    try:
        register_tzloader(connection.timezone, pg)  # what Django registers
        pg.execute("SET TIME ZONE 'Europe/Paris'")
        load_timestamps_natively(None, connection)
        assert pg.adapters.get_loader(1184, psycopg.pq.Format.TEXT) is not UTCTimestamptzLoader
    finally:
        pg.execute("SET TIME ZONE 'UTC'")
        load_timestamps_natively(None, connection)
    assert pg.adapters.get_loader(1184, psycopg.pq.Format.TEXT) is UTCTimestamptzLoader

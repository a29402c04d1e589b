"""Local calendar days: what "today" and "a day" mean for a person in their own time zone."""

import datetime as dt
import zoneinfo

from django.utils import timezone
from django.utils.dateparse import parse_datetime


def local_today(tz: zoneinfo.ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    return timezone.localtime(now or timezone.now(), tz).date()


def local_day_start(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first instant of ``day`` in ``tz`` (an aware datetime)."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


def rfc3339(value: dt.datetime | str) -> str:
    """A moment as the API writes it (UTC, 'Z'). Raw SQL bypasses Django's converters: SQLite
    hands back text, PostgreSQL a datetime; both are accepted."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")

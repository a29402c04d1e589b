"""The rules of activities and tags: how values are normalised and what is refused.

Every entry point uses this module — the API serializers, the list filters, the browser and
admin forms and the services themselves (through the model fields' validators and
``full_clean``) — so an activity dated next year or typed "x" is refused whether it comes from
the API, the admin, a batch, the seed command or a shell.

Hostile values are refused here too, before they reach the database or a calculation that cannot
hold them: control characters in text (PostgreSQL refuses NUL in text, so a NUL in a filter was a
500), and dates outside the range an activity can have (a date in year 1 overflows as soon as it is
moved to a time zone west of UTC, a date in year 9999 as soon as a day is added to it).

Messages are Django ``ValidationError`` messages, meant for the person who typed the value.
"""

import datetime as dt
import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils import timezone

from activelog.timezones import local_day_start

ACTIVITY_TYPE_MIN_LENGTH = 2
ACTIVITY_TYPE_MAX_LENGTH = 50
TAG_NAME_MAX_LENGTH = 50
MAX_TAGS_PER_ACTIVITY = 10
DURATION_MINUTES_MIN, DURATION_MINUTES_MAX = 1, 1440
DISTANCE_KM_MAX = 1000
CALORIES_MAX = 20000
TITLE_MAX_LENGTH, DESCRIPTION_MAX_LENGTH, NOTES_MAX_LENGTH = 255, 1000, 2000
# Clocks drift: a watch that is a little ahead must still be able to log the run just finished.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)

ACTIVITY_TYPE_MESSAGE = f"Use {ACTIVITY_TYPE_MIN_LENGTH} to {ACTIVITY_TYPE_MAX_LENGTH} characters."
FUTURE_MESSAGE = f"Cannot be more than {int(FUTURE_TOLERANCE.total_seconds() // 60)} minutes in the future."

# The range of activity dates: from the first instant of 1900 (UTC) to now + FUTURE_TOLERANCE.
# Older records are not sport logs worth keeping, and the floor keeps every local day, week and
# month of every activity, in every time zone, inside what Python's dates can hold.
EARLIEST_ACTIVITY_DATE = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
EARLIEST_ACTIVITY_DAY = EARLIEST_ACTIVITY_DATE.date()
EARLIEST_MESSAGE = f"Cannot be before {EARLIEST_ACTIVITY_DAY.isoformat()}."
# A date in a query (list and export filters, statistics and report periods) lies between the
# earliest activity day and a year after today: "this month" or "this year" may end in the future,
# a date further ahead is a mistake (or a sentinel such as 9999-12-31 that would overflow).
QUERY_DATE_HORIZON = dt.timedelta(days=366)

# C0 control characters (and DEL, and lone UTF-16 surrogates, which are not text at all). A
# single line of text (a type, a title, a tag, a search) refuses them all; multi-line text (a
# description, notes) keeps tabs and line breaks (browsers send a textarea's lines as CR LF).
_SINGLE_LINE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_MULTI_LINE_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
SINGLE_LINE_MESSAGE = "Use one line of text, without control characters (such as NUL, tabs or line breaks)."
MULTI_LINE_MESSAGE = "Remove the control characters (such as NUL or ESC); tabs and line breaks are fine."


def validate_single_line_text(value) -> None:
    """Validator of every one-line text field and text query parameter."""
    if isinstance(value, str) and _SINGLE_LINE_FORBIDDEN.search(value):
        raise ValidationError(SINGLE_LINE_MESSAGE, code="control_characters")


def validate_multi_line_text(value) -> None:
    """Validator of multi-line text fields (description, notes)."""
    if isinstance(value, str) and _MULTI_LINE_FORBIDDEN.search(value):
        raise ValidationError(MULTI_LINE_MESSAGE, code="control_characters")


def normalize_activity_type(value: str) -> str:
    """"  Running " and "running" are one type."""
    return (value or "").strip().lower()


def validate_activity_type(value: str) -> None:
    """Model validator of ``Activity.activity_type`` (run by ``full_clean``)."""
    validate_single_line_text(value)
    if not ACTIVITY_TYPE_MIN_LENGTH <= len(normalize_activity_type(value)) <= ACTIVITY_TYPE_MAX_LENGTH:
        raise ValidationError(ACTIVITY_TYPE_MESSAGE, code="activity_type_length")


def clean_activity_type(value: str) -> str:
    """Normalised, or ``ValidationError``."""
    value = normalize_activity_type(value)
    validate_activity_type(value)
    return value


def validate_not_in_future(value: dt.datetime) -> None:
    """An activity has happened already."""
    if value is not None and value > timezone.now() + FUTURE_TOLERANCE:
        raise ValidationError(FUTURE_MESSAGE, code="future")


def validate_not_too_early(value: dt.datetime) -> None:
    if value is not None and value < EARLIEST_ACTIVITY_DATE:
        raise ValidationError(EARLIEST_MESSAGE, code="too_early")


def validate_activity_date(value: dt.datetime) -> None:
    """Model validator of ``Activity.activity_date``: within the range of activity dates."""
    validate_not_too_early(value)
    validate_not_in_future(value)


def latest_query_day() -> dt.date:
    """The last day a query may name. Today in UTC: a person's local today is at most a day away,
    which the year's horizon absorbs."""
    return timezone.now().astimezone(dt.UTC).date() + QUERY_DATE_HORIZON


def validate_query_date(value: dt.date | dt.datetime | None) -> None:
    """Validator of a date (a local day) or an aware datetime (an instant) in a query: its
    calendar date, as written, lies between the earliest activity day and a year from today."""
    if value is None:
        return
    day = value.date() if isinstance(value, dt.datetime) else value
    if day < EARLIEST_ACTIVITY_DAY:
        raise ValidationError(f"Give a date on or after {EARLIEST_ACTIVITY_DAY.isoformat()}.", code="too_early")
    latest = latest_query_day()
    if day > latest:
        raise ValidationError(f"Give a date on or before {latest.isoformat()}.", code="too_late")


DEFAULT_PERIOD_DAYS = 30

Bound = dt.date | dt.datetime


def _validate_bounds(**bounds: Bound | None) -> None:
    errors = {}
    for name, value in bounds.items():
        try:
            validate_query_date(value)
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)


def _is_instant(value: Bound) -> bool:
    return isinstance(value, dt.datetime)


def clean_period(
    *, start: Bound | None, end: Bound | None, today: dt.date, tz: dt.tzinfo = dt.UTC
) -> tuple[Bound, Bound]:
    """A period, inclusive, by default the last 30 local days up to today. Each bound is a local
    day (a date, in ``tz``) or an instant (an aware datetime); ``ValidationError`` under
    ``start_date``/``end_date`` when a bound is out of range or the bounds are out of order."""
    _validate_bounds(start_date=start, end_date=end)
    end = end or today
    if start is None:
        last_day = timezone.localtime(end, tz).date() if _is_instant(end) else end
        start = max(last_day - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1), EARLIEST_ACTIVITY_DAY)
    if not _is_instant(start) and not _is_instant(end):
        validate_period_order(start, end)
        return start, end
    first = start if _is_instant(start) else local_day_start(start, tz)
    after_last = end if _is_instant(end) else local_day_start(end + dt.timedelta(days=1), tz)
    if first > after_last or (first == after_last and not _is_instant(end)):
        raise ValidationError({"start_date": ["The start must not be after the end."]})
    return start, end


def validate_period_order(start: dt.date, end: dt.date) -> None:
    """A period of whole local days (a report's): dates, in range, in order."""
    instants = {name: ["Give a date (YYYY-MM-DD): a period is made of whole days."]
                for name, value in (("start_date", start), ("end_date", end)) if _is_instant(value)}
    if instants:
        raise ValidationError(instants)
    _validate_bounds(start_date=start, end_date=end)
    if start > end:
        raise ValidationError({"start_date": ["The start date must not be after the end date."]})


def normalize_tag_name(name: str) -> str:
    return (name or "").strip().lower()


def normalize_tag_names(names: Iterable[str]) -> list[str]:
    """Trimmed, lower-cased, de-duplicated, in first-seen order; empty names dropped."""
    seen: dict[str, None] = {}
    for name in names:
        cleaned = normalize_tag_name(name)
        if cleaned:
            seen.setdefault(cleaned, None)
    return list(seen)


def clean_tag_names(names: Iterable[str], *, limit: int | None = MAX_TAGS_PER_ACTIVITY) -> list[str]:
    """Normalised tag names (at most ``limit`` of them: an activity's), or ``ValidationError``
    under ``tags``."""
    cleaned = normalize_tag_names(names)
    if any(_SINGLE_LINE_FORBIDDEN.search(name) for name in cleaned):
        raise ValidationError({"tags": [SINGLE_LINE_MESSAGE]})
    too_long = [name for name in cleaned if len(name) > TAG_NAME_MAX_LENGTH]
    if too_long:
        raise ValidationError({"tags": [f"A tag has at most {TAG_NAME_MAX_LENGTH} characters."]})
    if limit is not None and len(cleaned) > limit:
        raise ValidationError({"tags": [f"An activity has at most {MAX_TAGS_PER_ACTIVITY} tags."]})
    return cleaned


def validate_tag_name(value: str) -> None:
    """Model validator of ``Tag.name``."""
    validate_single_line_text(value)
    if not normalize_tag_name(value):
        raise ValidationError("A tag needs a name.", code="tag_name_empty")

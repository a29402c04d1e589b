"""The rules of activities and tags: how values are normalised and what is refused.

Every entry point uses this module — the API serializers, the list filters, the admin forms and
the services themselves (through the model fields' validators and ``full_clean``) — so an
activity dated next year or typed "x" is refused whether it comes from the API, the admin, a
batch, the seed command or a shell.

Messages are Django ``ValidationError`` messages, meant for the person who typed the value.
"""

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils import timezone

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


def normalize_activity_type(value: str) -> str:
    """"  Running " and "running" are one type."""
    return (value or "").strip().lower()


def validate_activity_type(value: str) -> None:
    """Model validator of ``Activity.activity_type`` (run by ``full_clean``)."""
    if not ACTIVITY_TYPE_MIN_LENGTH <= len(normalize_activity_type(value)) <= ACTIVITY_TYPE_MAX_LENGTH:
        raise ValidationError(ACTIVITY_TYPE_MESSAGE, code="activity_type_length")


def clean_activity_type(value: str) -> str:
    """Normalised, or ``ValidationError``."""
    value = normalize_activity_type(value)
    validate_activity_type(value)
    return value


def validate_not_in_future(value: dt.datetime) -> None:
    """Model validator of ``Activity.activity_date``: an activity has happened already."""
    if value is not None and value > timezone.now() + FUTURE_TOLERANCE:
        raise ValidationError(FUTURE_MESSAGE, code="future")


DEFAULT_PERIOD_DAYS = 30


def clean_period(*, start: dt.date | None, end: dt.date | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """A period of local days, inclusive; by default the last 30 days up to today."""
    end = end or today
    start = start or end - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    validate_period_order(start, end)
    return start, end


def validate_period_order(start: dt.date, end: dt.date) -> None:
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
    too_long = [name for name in cleaned if len(name) > TAG_NAME_MAX_LENGTH]
    if too_long:
        raise ValidationError({"tags": [f"A tag has at most {TAG_NAME_MAX_LENGTH} characters."]})
    if limit is not None and len(cleaned) > limit:
        raise ValidationError({"tags": [f"An activity has at most {MAX_TAGS_PER_ACTIVITY} tags."]})
    return cleaned


def validate_tag_name(value: str) -> None:
    """Model validator of ``Tag.name``."""
    if not normalize_tag_name(value):
        raise ValidationError("A tag needs a name.", code="tag_name_empty")

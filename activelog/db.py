"""Small ORM helpers shared by the apps."""

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection
from django.db.models import Count, IntegerField, Model, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce


def correlated_count(queryset: QuerySet, *, group_by: str) -> Coalesce:
    """How many rows of ``queryset`` (filtered with OuterRef) belong to each outer row, 0 when
    none: one indexed count per outer row, instead of a GROUP BY joined into the outer query."""
    counted = queryset.order_by().values(group_by).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def correlated_array(queryset: QuerySet, *, field: str):
    """The ``field`` values of ``queryset`` (filtered with OuterRef) for each outer row, as a list
    in the outer row itself: ``ARRAY(SELECT field ...)`` on PostgreSQL, so a page of rows and what
    they hold come in one statement. None on other databases (SQLite, the embedded default): the
    caller prefetches instead."""
    if connection.vendor != "postgresql":
        return None
    from django.contrib.postgres.expressions import ArraySubquery

    return ArraySubquery(queryset.order_by().values(field))


def model_update(*, instance: Model, fields: Iterable[str], data: Mapping[str, Any]) -> list[str]:
    """Set those of ``fields`` that ``data`` has on ``instance``, validate them, and save only what
    was given (plus ``updated_at`` when the model has one). Returns the names that were given.

    The given fields pass ``full_clean`` (their validators: the shared rules); uniqueness and the
    other constraints are left to the database, which enforces them anyway.
    """
    given = [name for name in fields if name in data]
    for name in given:
        setattr(instance, name, data[name])
    others = [field.name for field in instance._meta.get_fields() if field.name not in given]
    instance.full_clean(exclude=others, validate_unique=False, validate_constraints=False)
    if given:
        extra = ["updated_at"] if any(f.name == "updated_at" for f in instance._meta.concrete_fields) else []
        instance.save(update_fields=[*given, *extra])
    return given

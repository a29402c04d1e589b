"""Small ORM helpers shared by the apps."""

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db import connection, connections, router
from django.db.models import Count, IntegerField, Model, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.db.models.sql import Query


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


class CompiledQuery:
    """An ORM query compiled to SQL once per process and run again with other values.

    Building and compiling a queryset with subqueries costs more CPU than PostgreSQL spends running
    it (a third of one activity's request, bench/profile_endpoint.py). ``build(**stand_ins)`` makes
    the queryset from distinctive stand-in values; its SQL and parameters are kept, and each run
    puts the real values where the stand-ins were. The SQL is the ORM's own, so the query means
    exactly what the queryset does; a stand-in that does not appear exactly once among the
    parameters is an error, not a guess.
    """

    def __init__(self, build: Callable[..., QuerySet], **stand_ins: Any):
        self.build, self.stand_ins = build, stand_ins
        self._compiled: tuple | None = None
        self._digest: str | None = None

    def _compile(self) -> tuple:
        queryset = self.build(**self.stand_ins)
        if queryset.query.is_sliced or not queryset.ordered:
            raise RuntimeError("a compiled query is ordered and not sliced: run() adds LIMIT and OFFSET itself")
        sql, params = queryset.query.sql_with_params()
        params = list(params)
        positions = {}
        for name, stand_in in self.stand_ins.items():
            # isinstance: psycopg wraps some integers in int subclasses (Int4) for their column type.
            found = [i for i, value in enumerate(params) if isinstance(value, type(stand_in)) and value == stand_in]
            if len(found) != 1:
                raise RuntimeError(f"stand-in {name}={stand_in!r} appears {len(found)} times in {params!r}")
            positions[name] = found[0]
        return sql, params, positions, queryset.model, queryset._prefetch_related_lookups

    def _compiled_now(self) -> tuple:
        if self._compiled is None:
            self._compiled = self._compile()  # a race compiles twice, to the same result
        return self._compiled

    @property
    def digest(self) -> str:
        """A short digest of the compiled SQL: what a kept result of this query was read with. It
        changes with the query, the model's columns and the database vendor, so a result kept by
        another version of the code (a cache entry across a deploy) is never taken for this one's."""
        if self._digest is None:
            sql, params, _, model, prefetches = self._compiled_now()
            lookups = [getattr(lookup, "prefetch_to", lookup) for lookup in prefetches]  # Prefetch or str
            text = repr((model._meta.label, sql, [type(p).__name__ for p in params], lookups))
            self._digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        return self._digest

    def run(self, *, limit: int | None = None, offset: int = 0, **values: Any) -> list:
        """The rows for these values; with ``limit``, that page of them (the queryset must be
        ordered and not sliced itself: LIMIT and OFFSET are appended as parameters)."""
        sql, params, positions, model, prefetches = self._compiled_now()
        params = list(params)
        for name, index in positions.items():
            params[index] = values[name]
        if limit is not None:
            sql, params = f"{sql} LIMIT %s OFFSET %s", [*params, limit, offset]
        if prefetches or self._rows_plan is False:
            return list(model._default_manager.raw(sql, params).prefetch_related(*prefetches))
        return self._instances(model, sql, params)

    _rows_plan: tuple | bool | None = None  # None: not known yet; False: rows need the raw queryset

    def _instances(self, model, sql: str, params: list) -> list:
        """What ``Model.objects.raw(sql, params)`` gives (model instances, the other columns as
        attributes), without resolving which column is which field on every run: the columns of
        a compiled query never change, so that is done once (it was 5% of one activity's request,
        bench/profile_endpoint.py detail). Where the database's values need converting (SQLite),
        the raw queryset does it."""
        db = router.db_for_read(model)
        with connections[db].cursor() as cursor:
            cursor.execute(sql, params)
            if self._rows_plan is None:
                self._rows_plan = _rows_plan(model, connections[db], [c[0] for c in cursor.description])
            rows = cursor.fetchall()
        if self._rows_plan is False:
            return list(model._default_manager.raw(sql, params))
        names, positions, annotations = self._rows_plan
        instances = []
        for row in rows:
            instance = model.from_db(db, names, [row[i] for i in positions])
            for name, i in annotations:
                setattr(instance, name, row[i])
            instances.append(instance)
        return instances


def _rows_plan(model, connection, columns: list[str]) -> tuple | bool:
    """(field attnames, their column positions, [(other column, position)]) as Django's
    RawQuerySet.resolve_model_init_order makes them; False when a field needs a converter."""
    converter = connection.introspection.identifier_converter
    columns = [converter(c) for c in columns]
    by_column = {converter(f.column): f for f in model._meta.concrete_fields}
    fields = [f for f in model._meta.fields if converter(f.column) in columns]
    compiler = connection.ops.compiler("SQLCompiler")(Query(model), connection, None)
    cols = [by_column[c].get_col(model._meta.db_table) if c in by_column else None for c in columns]
    if compiler.get_converters(cols) or model._meta.pk not in fields:
        return False
    return (
        [f.attname for f in fields],
        [columns.index(converter(f.column)) for f in fields],
        [(c, i) for i, c in enumerate(columns) if c not in by_column],
    )


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

"""Statistics selectors: every figure is aggregated by the database, in the user's time zone.

PostgreSQL in production and SQLite in the embedded default give the same answers: calendar
days and months come from Django's time-zone-aware Trunc functions (``AT TIME ZONE`` on
PostgreSQL, Django's registered functions on SQLite), and streaks are gaps-and-islands over the
distinct active days with a window function. Nothing here loops over a user's activities in
Python; the loops below run over a handful of groups (types, months, streak islands).
"""

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncDate, TruncMonth, TruncWeek
from django.utils import timezone

from accounts.models import User
from activelog.db import correlated_count
from activelog.timezones import local_day_start, local_today, rfc3339
from activities import rules
from activities.models import Activity, Pace, Tag
from activities.selectors import activities_alive

EPOCH = dt.date(1970, 1, 1)
TWO_PLACES = Decimal("0.01")


def _round2(value) -> float:
    return float(Decimal(value or 0).quantize(TWO_PLACES, rounding=ROUND_HALF_UP))


def live_activities(user: User) -> QuerySet[Activity]:
    return activities_alive(user=user).order_by()


def activities_between(user: User, start: dt.date | dt.datetime, end: dt.date | dt.datetime) -> QuerySet[Activity]:
    """Live activities from ``start`` to ``end`` inclusive. A date bound is a local calendar day
    (the whole day, in the user's time zone), a datetime bound an instant."""
    tz = user.tzinfo
    lower = start if isinstance(start, dt.datetime) else local_day_start(start, tz)
    if isinstance(end, dt.datetime):
        upper = Q(activity_date__lte=end)
    else:
        upper = Q(activity_date__lt=local_day_start(end + dt.timedelta(days=1), tz))
    return live_activities(user).filter(upper, activity_date__gte=lower)


def _bound_text(value: dt.date | dt.datetime) -> str:
    """A period's bound as the API writes it: YYYY-MM-DD, or an RFC 3339 instant (UTC)."""
    return rfc3339(value) if isinstance(value, dt.datetime) else value.isoformat()


# --- totals -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Totals:
    total_activities: int
    total_duration_minutes: int
    total_distance_km: float
    total_calories: int
    activity_types: dict[str, int]

    @property
    def avg_duration_minutes(self) -> float:
        if not self.total_activities:
            return 0
        return _round2(Decimal(self.total_duration_minutes) / self.total_activities)


def totals_by_type(queryset: QuerySet[Activity]) -> Totals:
    """One GROUP BY query; the totals are the sum of the (few) per-type groups."""
    groups = list(
        queryset.values("activity_type")
        .annotate(
            n=Count("id"),
            duration=Sum("duration_minutes"),
            distance=Sum("distance_km"),
            calories=Sum("calories_burned"),
        )
        .order_by("-n", "activity_type")
    )
    return Totals(
        total_activities=sum(g["n"] for g in groups),
        total_duration_minutes=sum(g["duration"] or 0 for g in groups),
        total_distance_km=_round2(sum((g["distance"] or Decimal(0)) for g in groups)),
        total_calories=sum(g["calories"] or 0 for g in groups),
        activity_types={g["activity_type"]: g["n"] for g in groups},
    )


def weekly_totals(*, user: User, start: dt.date, end: dt.date) -> list[tuple[dt.date, Decimal, int]]:
    """(local Monday, distance km, minutes) for every week of the period, empty weeks included."""
    rows = (
        activities_between(user, start, end)
        .annotate(week=TruncWeek("activity_date", tzinfo=user.tzinfo))
        .values("week")
        .annotate(distance=Sum("distance_km"), minutes=Sum("duration_minutes"), n=Count("id"))
    )
    by_week = {timezone.localtime(r["week"], user.tzinfo).date(): r for r in rows}
    week = start - dt.timedelta(days=start.weekday())
    weeks = []
    while week <= end:
        row = by_week.get(week, {})
        weeks.append((week, row.get("distance") or Decimal(0), row.get("minutes") or 0))
        week += dt.timedelta(days=7)
    return weeks


def daily_minutes(*, user: User, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    """Minutes of activity per local day with any (the streaks calendar)."""
    rows = (
        activities_between(user, start, end)
        .annotate(day=TruncDate("activity_date", tzinfo=user.tzinfo))
        .values("day")
        .annotate(minutes=Sum("duration_minutes"))
    )
    return {row["day"]: row["minutes"] for row in rows}


def stats_for_range(*, user: User, start: dt.date | dt.datetime, end: dt.date | dt.datetime) -> dict:
    """Totals of a period whose bounds are local days or instants (``activities_between``)."""
    totals = totals_by_type(activities_between(user, start, end))
    return {
        "start_date": _bound_text(start),
        "end_date": _bound_text(end),
        "total_activities": totals.total_activities,
        "total_duration_minutes": totals.total_duration_minutes,
        "total_distance_km": totals.total_distance_km,
        "total_calories": totals.total_calories,
        "activity_types": totals.activity_types,
    }


def stats_last_days(*, user: User, days: int, with_types: bool, today: dt.date | None = None) -> dict:
    today = today or local_today(user.tzinfo)
    start = today - dt.timedelta(days=days - 1)
    totals = totals_by_type(activities_between(user, start, today))
    body = {
        "period": f"last_{days}_days",
        "start_date": start.isoformat(),
        "end_date": today.isoformat(),
        "total_activities": totals.total_activities,
        "total_duration_minutes": totals.total_duration_minutes,
        "total_distance_km": totals.total_distance_km,
        "avg_duration_minutes": totals.avg_duration_minutes,
    }
    if with_types:
        body["activity_types"] = totals.activity_types
    return body


def stats_by_type(*, user: User) -> dict:
    breakdown = dict(
        live_activities(user).values_list("activity_type").annotate(n=Count("id")).order_by("-n", "activity_type")
    )
    return {"activity_breakdown": breakdown, "total_activities": sum(breakdown.values())}


# --- streaks ----------------------------------------------------------------------------------


class DayNumber(Func):
    """Days since 1970-01-01 of a date expression, as an integer, on PostgreSQL and SQLite."""

    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="(%(expressions)s - DATE '1970-01-01')", **extra_context)

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="CAST(julianday(%(expressions)s) - 2440587.5 AS INTEGER)", **extra_context
        )


@dataclass(frozen=True)
class Streaks:
    current_days: int
    longest_days: int
    longest_start: dt.date | None
    longest_end: dt.date | None


def _active_days(user: User) -> tuple[str, list]:
    """SQL for the distinct local day numbers (DayNumber) with a live activity, for a WITH RECURSIVE.

    On PostgreSQL, a walk down the (user, activity_date) index: from the newest activity, each step
    takes the newest one before the local midnight that starts the day just found, so it costs one
    index probe per active day instead of a time-zone conversion per activity (60-100 ms at 100,000
    activities). Every step moves strictly back in time (the bound is also below the previous
    activity), so it ends even where a local midnight is ambiguous; a day met twice there is counted
    once. Elsewhere (SQLite), the distinct local dates of all activities.
    """
    local_date = TruncDate("activity_date", tzinfo=user.tzinfo)
    if connection.vendor != "postgresql":
        days = live_activities(user).annotate(day_number=DayNumber(local_date)).values("day_number").distinct()
        sql, params = days.query.sql_with_params()
        return sql, list(params)
    live = live_activities(user).annotate(day=local_date).order_by("-activity_date").values("day", "activity_date")
    first_sql, first_params = live[:1].query.sql_with_params()
    before = RawSQL("LEAST(walk.activity_date, walk.day::timestamp AT TIME ZONE %s)", (user.timezone,))
    next_sql, next_params = live.filter(activity_date__lt=before)[:1].query.sql_with_params()
    sql = f"""
        WITH RECURSIVE walk(day, activity_date) AS (
            SELECT first.day, first.activity_date FROM ({first_sql}) first
            UNION ALL
            SELECT next.day, next.activity_date FROM walk, LATERAL ({next_sql}) next
        )
        SELECT DISTINCT walk.day - DATE '1970-01-01' AS day_number FROM walk
    """  # noqa: S608 - only ORM-compiled subqueries are interpolated; values are parameters
    return sql, [*first_params, *next_params]


def streaks(*, user: User, today: dt.date | None = None) -> Streaks:
    """Gaps and islands over the distinct local days with activity, in one query.

    Consecutive day numbers minus their row number are constant within a run of days, so
    grouping by that difference yields each streak. The query returns only two islands: the
    longest (the most recent one on ties) and the most recent.
    """
    today = today or local_today(user.tzinfo)
    days_sql, params = _active_days(user)
    sql = f"""
        WITH days AS ({days_sql}),
        islands AS (
            SELECT day_number - ROW_NUMBER() OVER (ORDER BY day_number) AS island, day_number FROM days
        ),
        runs AS (
            SELECT MIN(day_number) AS first_day, MAX(day_number) AS last_day, COUNT(*) AS length
            FROM islands GROUP BY island
        ),
        ranked AS (
            SELECT first_day, last_day, length,
                   ROW_NUMBER() OVER (ORDER BY length DESC, last_day DESC) AS by_length,
                   ROW_NUMBER() OVER (ORDER BY last_day DESC) AS by_recency
            FROM runs
        )
        SELECT first_day, last_day, length, by_length, by_recency FROM ranked
        WHERE by_length = 1 OR by_recency = 1
    """  # noqa: S608 - only the ORM-compiled subquery is interpolated; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    longest = next((r for r in rows if r[3] == 1), None)
    recent = next((r for r in rows if r[4] == 1), None)
    current = 0
    if recent is not None:
        last_day = EPOCH + dt.timedelta(days=recent[1])
        if last_day >= today - dt.timedelta(days=1):
            current = recent[2]
    if longest is None:
        return Streaks(current_days=0, longest_days=0, longest_start=None, longest_end=None)
    return Streaks(
        current_days=current,
        longest_days=longest[2],
        longest_start=EPOCH + dt.timedelta(days=longest[0]),
        longest_end=EPOCH + dt.timedelta(days=longest[1]),
    )


def streak_summary(*, user: User) -> dict:
    today = local_today(user.tzinfo)
    result = streaks(user=user, today=today)
    return {
        "current_streak_days": result.current_days,
        "longest_streak_days": result.longest_days,
        "longest_streak_start": result.longest_start.isoformat() if result.longest_start else None,
        "longest_streak_end": result.longest_end.isoformat() if result.longest_end else None,
        "today": today.isoformat(),
    }


# --- summary ----------------------------------------------------------------------------------


def activity_level(total: int) -> str:
    if total == 0:
        return "inactive"
    if total < 10:
        return "beginner"
    if total < 50:
        return "intermediate"
    if total < 100:
        return "active"
    return "expert"


def summary(*, user: User) -> dict:
    # Tags with at least one live activity: a probe per tag (a few dozen) for its first live link.
    # A scalar subquery with LIMIT 1, not EXISTS: PostgreSQL turns EXISTS into a semi-join and
    # hashed every link of each tag (45-56 ms at 100,000 activities; this: under 1 ms). Not
    # correlated with the outer rows, so PostgreSQL evaluates it once (an InitPlan).
    live_links = Activity.tags.through.objects.filter(tag_id=OuterRef("pk"), activity__deleted_at__isnull=True)
    tag_count = (
        Tag.objects.filter(user=user)
        .alias(first_live_link=Subquery(live_links.values("pk")[:1]))
        .filter(first_live_link__isnull=False)
        .order_by()
        .values("user")
        .annotate(n=Count("id"))
        .values("n")
    )
    rows = (
        live_activities(user)
        .values("user")
        .annotate(
            n=Count("id"),
            duration=Sum("duration_minutes"),
            distance=Sum("distance_km"),
            last=Max("activity_date"),
            tags=Subquery(tag_count, output_field=IntegerField()),
        )
    )
    row = next(iter(rows), {})
    streak = streaks(user=user)
    total = row.get("n", 0)
    last = row.get("last")
    return {
        "username": user.username,
        "member_since": timezone.localtime(user.date_joined, user.tzinfo).date().isoformat(),
        "total_activities": total,
        "total_duration_minutes": row.get("duration") or 0,
        "total_distance_km": _round2(row.get("distance")),
        "unique_tag_count": row.get("tags") or 0,
        "last_activity_date": rfc3339(last) if last else None,
        "activity_level": activity_level(total),
        "current_streak_days": streak.current_days,
        "longest_streak_days": streak.longest_days,
    }


# --- tags -------------------------------------------------------------------------------------


def top_tags(*, user: User, limit: int) -> dict:
    """The most used tags, and how many tags are used at all (by a live activity).

    A tag's live uses are its links less those of deleted activities: counting a tag's links reads
    only the link table's tag index, where joining every link to its activity to look at
    deleted_at read every activity (140-170 ms at 100,000 activities). One query; the unused tags
    (count 0) are dropped here, from the few rows of the user's tags, in the database's order.
    """
    links = Activity.tags.through.objects.filter(tag_id=OuterRef("pk"))
    deleted = links.filter(activity__user=user, activity__deleted_at__isnull=False)  # the user's: its index
    live_uses = correlated_count(links, group_by="tag_id") - correlated_count(deleted, group_by="tag_id")
    rows = Tag.objects.filter(user=user).annotate(count=live_uses).order_by("-count", "name").values("name", "count")
    used = [row for row in rows if row["count"] > 0]
    return {
        "tags": [{"tag_name": r["name"], "count": r["count"]} for r in used[:limit]],
        "total_unique_tags": len(used),
    }


# --- records ----------------------------------------------------------------------------------

RECORD_KINDS = ("longest_distance_km", "longest_duration_minutes", "most_calories", "fastest_pace_min_per_km")

# Each record's rows and "best first" order; activities.models.Activity's record indexes
# (activity_record_*) are on exactly these conditions and orders, so on PostgreSQL a holder is the
# first entry of an index range and records cost a probe per type and record, whatever the number
# of activities.
_RECORD_ORDERS = {
    "longest_distance_km": (Q(distance_km__isnull=False), F("distance_km").desc()),
    "longest_duration_minutes": (Q(), F("duration_minutes").desc()),
    "most_calories": (Q(calories_burned__isnull=False), F("calories_burned").desc()),
    "fastest_pace_min_per_km": (Q(distance_km__gte=1), Pace().asc()),
}


def personal_records(*, user: User) -> dict:
    """Per type: the best distance, duration, calories and pace, each held by the earliest activity
    that reached it (then the lowest id).

    One statement: the user's types by a loose index scan (a recursive CTE that jumps from one type
    to the next, one index probe each), then per type and record the first live activity in that
    record's order.
    """
    live = live_activities(user)
    this_type = RawSQL("types.activity_type", ())

    def sql_of(queryset) -> tuple[str, list]:
        sql, params = queryset.query.sql_with_params()
        return f"({sql})", list(params)

    first_type, first_params = sql_of(live.order_by("activity_type").values("activity_type")[:1])
    next_type, next_params = sql_of(
        live.filter(activity_type__gt=this_type).order_by("activity_type").values("activity_type")[:1]
    )
    holders, holder_params = [], []
    for kind, (condition, order) in _RECORD_ORDERS.items():
        holder = live.filter(condition, activity_type=this_type).order_by(order, "activity_date", "id")
        sql, params = sql_of(holder.values("id")[:1])
        holders.append(f"{sql} AS {kind}")
        holder_params += params
    table = connection.ops.quote_name(Activity._meta.db_table)
    columns = "a.id, a.activity_type, a.activity_date, a.distance_km, a.duration_minutes, a.calories_burned"
    held = [
        f"SELECT '{kind}', {columns} FROM holders JOIN {table} a ON a.id = holders.{kind}"  # noqa: S608 - fixed names
        for kind in RECORD_KINDS
    ]
    sql = f"""
        WITH RECURSIVE types(activity_type) AS (
            SELECT {first_type}
            UNION ALL
            SELECT {next_type} FROM types WHERE types.activity_type IS NOT NULL
        ),
        holders AS (SELECT {", ".join(holders)} FROM types WHERE types.activity_type IS NOT NULL)
        {" UNION ALL ".join(held)}
    """  # noqa: S608 - only ORM-compiled subqueries and fixed names are interpolated; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, [*first_params, *next_params, *holder_params])
        rows = cursor.fetchall()

    def value_of(kind, distance, duration, calories):
        if kind == "longest_distance_km":
            return _round2(Decimal(str(distance)))
        if kind == "longest_duration_minutes":
            return int(duration)
        if kind == "most_calories":
            return int(calories)
        return _round2(Decimal(duration) / Decimal(str(distance)))

    records: dict[str, dict] = {}
    for kind, activity_id, activity_type, activity_date, distance, duration, calories in rows:  # ≤ 4 per type
        records.setdefault(activity_type, {})[kind] = {
            "value": value_of(kind, distance, duration, calories),
            "activity_id": activity_id,
            "activity_date": rfc3339(activity_date),
        }
    records = {t: {k: r[k] for k in RECORD_KINDS if k in r} for t, r in sorted(records.items())}
    streak = streaks(user=user)
    return {
        "records": records,
        "longest_streak_days": {
            "value": streak.longest_days,
            "start_date": streak.longest_start.isoformat() if streak.longest_start else None,
            "end_date": streak.longest_end.isoformat() if streak.longest_end else None,
        },
    }


# --- trends -----------------------------------------------------------------------------------


def _month_start(day: dt.date, back: int = 0) -> dt.date:
    index = day.year * 12 + (day.month - 1) - back
    return dt.date(index // 12, index % 12 + 1, 1)


def _change_pct(current, previous) -> float | None:
    if not previous:
        return None
    return _round2((Decimal(current) - Decimal(previous)) * 100 / Decimal(previous))


def monthly_trends(*, user: User, months: int, activity_type: str | None = None) -> dict:
    """Calendar months (user's time zone), oldest first, empty months as zeros.

    One query over months+1 months: the extra, earlier month gives the first month its change.
    ``average_pace_min_per_km`` is distance-weighted: minutes of activities with a distance over
    their kilometres.
    """
    today = local_today(user.tzinfo)
    first = _month_start(today, back=months)
    queryset = activities_between(user, first, today)
    if activity_type:
        queryset = queryset.filter(activity_type=rules.normalize_activity_type(activity_type))
    with_distance = Q(distance_km__gt=0)
    rows = (
        queryset.annotate(month=TruncMonth("activity_date", tzinfo=user.tzinfo))
        .values("month")
        .annotate(
            n=Count("id"),
            distance=Sum("distance_km"),
            duration=Sum("duration_minutes"),
            paced_minutes=Sum("duration_minutes", filter=with_distance),
            paced_km=Sum("distance_km", filter=with_distance, output_field=DecimalField()),
        )
    )
    by_month = {timezone.localtime(r["month"], user.tzinfo).date().replace(day=1)
                if isinstance(r["month"], dt.datetime) else r["month"]: r for r in rows}
    trends, previous = [], None
    for back in range(months, -1, -1):
        month = _month_start(today, back=back)
        row = by_month.get(month, {})
        count, distance = row.get("n", 0), row.get("distance") or Decimal(0)
        entry = {
            "month": month.strftime("%Y-%m"),
            "total_activities": count,
            "total_distance_km": _round2(distance),
            "total_duration_minutes": row.get("duration") or 0,
            "average_pace_min_per_km": (
                _round2(Decimal(row["paced_minutes"]) / row["paced_km"]) if row.get("paced_km") else None
            ),
        }
        if previous is not None:
            entry["vs_previous_month"] = {
                "activities_change_pct": _change_pct(count, previous[0]),
                "distance_change_pct": _change_pct(distance, previous[1]),
            }
            trends.append(entry)
        previous = (count, distance)
    return {"trends": trends, "total_months": len(trends)}

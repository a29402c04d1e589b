"""Browser pages of the statistics area: the dashboard and the statistics page.

The figures are the statistics selectors' (the API's), cached per user under the same versioned
key scheme (activities/statistics/cache.py), and shown in the person's units. Every chart has its
numbers in a table next to it.
"""

import datetime as dt
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _

from activelog import units
from activelog.timezones import local_today
from activities import selectors as activity_selectors
from activities.statistics import charts
from activities.statistics import selectors as statistics
from activities.statistics.cache import cached_stats

CHART_WEEKS = 12
HEATMAP_WEEKS = 53


def _in_units(km, user) -> float:
    return float(units.km_to_display(Decimal(str(km or 0)), user.units))


def _dashboard_figures(user) -> dict:
    today = local_today(user.tzinfo)
    week_start = today - dt.timedelta(days=today.weekday())
    first_week = week_start - dt.timedelta(weeks=CHART_WEEKS - 1)
    return {
        "today": today,
        "week": statistics.stats_for_range(user=user, start=week_start, end=today),
        "month": statistics.stats_for_range(user=user, start=today.replace(day=1), end=today),
        "streaks": statistics.streak_summary(user=user),
        "weeks": statistics.weekly_totals(user=user, start=first_week, end=today),
    }


@login_required
def dashboard(request):
    user = request.user
    figures, _hit = cached_stats(user=user, endpoint="page-dashboard", params=None,
                                 compute=lambda: _dashboard_figures(user))
    unit = units.distance_unit(user.units)
    weeks = [
        {"start": start, "distance": _in_units(km, user), "hours": round(minutes / 60, 1)}
        for start, km, minutes in figures["weeks"]
    ]
    labels = [week["start"].strftime("%d %b") for week in weeks]
    context = {
        "figures": figures,
        "week_distance": _in_units(figures["week"]["total_distance_km"], user),
        "month_distance": _in_units(figures["month"]["total_distance_km"], user),
        "unit": unit,
        "weeks": weeks,
        "distance_chart": charts.bar_chart(
            id_prefix="weekly-distance", title=_("Distance per week (%(unit)s)") % {"unit": unit},
            labels=labels, values=[week["distance"] for week in weeks], unit=unit,
        ),
        "duration_chart": charts.bar_chart(
            id_prefix="weekly-duration", title=_("Time per week (hours)"), labels=labels,
            values=[week["hours"] for week in weeks], unit="h", series_class="series-2",
        ),
        "latest": activity_selectors.activity_list(user=user)[:5],
    }
    return render(request, "statistics/dashboard.html", context)


def _stats_figures(user) -> dict:
    today = local_today(user.tzinfo)
    first_day = today - dt.timedelta(weeks=HEATMAP_WEEKS) + dt.timedelta(days=1)
    return {
        "today": today,
        "trends": statistics.monthly_trends(user=user, months=12)["trends"],
        "by_type": statistics.stats_by_type(user=user),
        "records": statistics.personal_records(user=user),
        "streaks": statistics.streak_summary(user=user),
        "days": statistics.daily_minutes(user=user, start=first_day, end=today),
    }


@login_required
def stats_page(request):
    user = request.user
    figures, _hit = cached_stats(user=user, endpoint="page-stats", params=None, compute=lambda: _stats_figures(user))
    unit = units.distance_unit(user.units)
    months = [
        {
            "month": dt.date.fromisoformat(f"{row['month']}-01"),
            "activities": row["total_activities"],
            "distance": _in_units(row["total_distance_km"], user),
            "minutes": row["total_duration_minutes"],
            "pace": units.format_pace(units.pace_to_display(row["average_pace_min_per_km"], user.units), user.units),
        }
        for row in figures["trends"]
    ]
    types = sorted(figures["by_type"]["activity_breakdown"].items(), key=lambda item: (-item[1], item[0]))
    records = [
        {"type": activity_type, **_record_cells(kinds, user)}
        for activity_type, kinds in sorted(figures["records"]["records"].items())
    ]
    days = figures["days"]
    context = {
        "unit": unit,
        "months": months,
        "types": types,
        "records": records,
        "streaks": figures["streaks"],
        "longest_start": _date(figures["streaks"]["longest_streak_start"]),
        "longest_end": _date(figures["streaks"]["longest_streak_end"]),
        "active_days": len(days),
        "trend_chart": charts.bar_chart(
            id_prefix="monthly-distance", title=_("Distance per month (%(unit)s)") % {"unit": unit},
            labels=[m["month"].strftime("%b %y") for m in months], values=[m["distance"] for m in months], unit=unit,
        ),
        "type_chart": charts.horizontal_bar_chart(
            id_prefix="by-type", title=_("Activities per type"), labels=[name for name, _n in types],
            values=[count for _name, count in types], unit=_("activities"),
        ),
        "heatmap": charts.calendar_heatmap(
            id_prefix="streak-calendar", title=_("Minutes of activity per day, last 12 months"),
            days=days, end=figures["today"], weeks=HEATMAP_WEEKS, unit="min",
        ),
    }
    return render(request, "statistics/stats.html", context)


def _date(iso: str | None) -> dt.date | None:
    return dt.date.fromisoformat(iso) if iso else None


def _record_cells(kinds: dict, user) -> dict:
    """One row of the records table: each record's value in the person's units, and its activity."""
    def cell(kind: str, show):
        record = kinds.get(kind)
        if not record:
            return None
        return {"value": show(record["value"]), "activity_id": record["activity_id"]}

    unit = units.distance_unit(user.units)
    return {
        "distance": cell("longest_distance_km", lambda km: f"{_in_units(km, user):.2f} {unit}"),
        "duration": cell("longest_duration_minutes", lambda minutes: units.format_duration(minutes)),
        "calories": cell("most_calories", lambda calories: f"{int(calories)} kcal"),
        "pace": cell("fastest_pace_min_per_km",
                     lambda pace: units.format_pace(units.pace_to_display(pace, user.units), user.units)),
    }

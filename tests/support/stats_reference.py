"""An independent, brute-force reference for every statistics endpoint (API.md §4).

Plain Python over the rows, written from the contract rather than from the implementation:
no SQL, no shared helpers with activities.statistics.
"""

import datetime as dt
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo


def r2(value) -> float:
    if value is None:
        return None
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return float(Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class Reference:
    def __init__(self, user, activities, now: dt.datetime):
        self.user = user
        self.tz = ZoneInfo(user.timezone)
        # Only this user's, only live rows: the contract's scope.
        self.rows = [a for a in activities if a.user_id == user.pk and a.deleted_at is None]
        self.today = now.astimezone(self.tz).date()

    def day(self, activity) -> dt.date:
        return activity.activity_date.astimezone(self.tz).date()

    def _totals(self, rows):
        distance = sum((a.distance_km for a in rows if a.distance_km is not None), Decimal(0))
        return {
            "total_activities": len(rows),
            "total_duration_minutes": sum(a.duration_minutes for a in rows),
            "total_distance_km": r2(distance),
        }

    def _between(self, start, end):
        return [a for a in self.rows if start <= self.day(a) <= end]

    def range_stats(self, start=None, end=None):
        end = end or self.today
        start = start or end - dt.timedelta(days=29)
        rows = self._between(start, end)
        return {
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            **self._totals(rows),
            "total_calories": sum(a.calories_burned or 0 for a in rows),
            "activity_types": dict(Counter(a.activity_type for a in rows)),
        }

    def period(self, days, with_types):
        start = self.today - dt.timedelta(days=days - 1)
        rows = self._between(start, self.today)
        body = {
            "period": f"last_{days}_days",
            "start_date": start.isoformat(),
            "end_date": self.today.isoformat(),
            **self._totals(rows),
            "avg_duration_minutes": r2(Fraction(sum(a.duration_minutes for a in rows), len(rows))) if rows else 0,
        }
        if with_types:
            body["activity_types"] = dict(Counter(a.activity_type for a in rows))
        return body

    def by_type(self):
        return {"activity_breakdown": dict(Counter(a.activity_type for a in self.rows)),
                "total_activities": len(self.rows)}

    def _runs(self):
        days = sorted({self.day(a) for a in self.rows})
        runs, start, previous = [], None, None
        for day in days:
            if previous is not None and day == previous + dt.timedelta(days=1):
                previous = day
                continue
            if start is not None:
                runs.append((start, previous))
            start = previous = day
        if start is not None:
            runs.append((start, previous))
        return runs, set(days)

    def streaks(self):
        runs, days = self._runs()
        longest = None
        for start, end in runs:  # ties: the most recent run
            length = (end - start).days + 1
            if longest is None or length >= longest[0]:
                longest = (length, start, end)
        anchor = self.today if self.today in days else self.today - dt.timedelta(days=1)
        current = 0
        while anchor - dt.timedelta(days=current) in days:
            current += 1
        return {
            "current_streak_days": current,
            "longest_streak_days": longest[0] if longest else 0,
            "longest_streak_start": longest[1].isoformat() if longest else None,
            "longest_streak_end": longest[2].isoformat() if longest else None,
            "today": self.today.isoformat(),
        }

    def summary(self):
        streaks = self.streaks()
        n = len(self.rows)
        level = ("inactive" if n == 0 else "beginner" if n < 10 else "intermediate" if n < 50
                 else "active" if n < 100 else "expert")
        return {
            "username": self.user.username,
            "member_since": self.user.date_joined.astimezone(self.tz).date().isoformat(),
            "total_activities": n,
            "total_duration_minutes": sum(a.duration_minutes for a in self.rows),
            "total_distance_km": self._totals(self.rows)["total_distance_km"],
            "unique_tag_count": len({t for a in self.rows for t in a.tag_names}),
            "last_activity_date": rfc3339(max(a.activity_date for a in self.rows)) if self.rows else None,
            "activity_level": level,
            "current_streak_days": streaks["current_streak_days"],
            "longest_streak_days": streaks["longest_streak_days"],
        }

    def top_tags(self, limit=10):
        counts = Counter(t for a in self.rows for t in a.tag_names)
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return {"tags": [{"tag_name": n, "count": c} for n, c in ranked[:limit]], "total_unique_tags": len(counts)}

    def records(self):
        metrics = {
            "longest_distance_km": (lambda a: a.distance_km, max, r2),
            "longest_duration_minutes": (lambda a: a.duration_minutes, max, int),
            "most_calories": (lambda a: a.calories_burned, max, int),
            "fastest_pace_min_per_km": (
                lambda a: Fraction(a.duration_minutes) / Fraction(a.distance_km)
                if a.distance_km is not None and a.distance_km >= 1 else None,
                min,
                r2,
            ),
        }
        records = {}
        for activity_type in sorted({a.activity_type for a in self.rows}):
            rows = [a for a in self.rows if a.activity_type == activity_type]
            for name, (metric, best, shown) in metrics.items():
                candidates = [a for a in rows if metric(a) is not None]
                if not candidates:
                    continue
                target = best(metric(a) for a in candidates)
                holder = min((a for a in candidates if metric(a) == target), key=lambda a: (a.activity_date, a.pk))
                records.setdefault(activity_type, {})[name] = {
                    "value": shown(target), "activity_id": holder.pk, "activity_date": rfc3339(holder.activity_date),
                }
        streaks = self.streaks()
        return {"records": records, "longest_streak_days": {
            "value": streaks["longest_streak_days"],
            "start_date": streaks["longest_streak_start"],
            "end_date": streaks["longest_streak_end"],
        }}

    def trends(self, months=12, activity_type=None):
        def shift(month: dt.date, n: int) -> dt.date:
            index = month.year * 12 + month.month - 1 + n
            return dt.date(index // 12, index % 12 + 1, 1)

        this_month = self.today.replace(day=1)
        rows = [a for a in self.rows if activity_type is None or a.activity_type == activity_type]
        buckets = defaultdict(list)
        for a in rows:
            if self.day(a) <= self.today:
                buckets[self.day(a).replace(day=1)].append(a)

        def change(current, previous):
            if not previous:
                return None
            return r2(Fraction(Decimal(current) - Decimal(previous)) * 100 / Fraction(previous))

        trends = []
        for offset in range(-(months - 1), 1):
            month, prior = shift(this_month, offset), shift(this_month, offset - 1)
            cur, prev = buckets[month], buckets[prior]
            paced = [a for a in cur if a.distance_km]
            dist = sum((a.distance_km for a in cur if a.distance_km is not None), Decimal(0))
            prev_dist = sum((a.distance_km for a in prev if a.distance_km is not None), Decimal(0))
            trends.append({
                "month": month.strftime("%Y-%m"),
                "total_activities": len(cur),
                "total_distance_km": r2(dist),
                "total_duration_minutes": sum(a.duration_minutes for a in cur),
                "average_pace_min_per_km": (
                    r2(Fraction(sum(a.duration_minutes for a in paced)) / Fraction(sum(a.distance_km for a in paced)))
                    if paced else None
                ),
                "vs_previous_month": {
                    "activities_change_pct": change(len(cur), len(prev)),
                    "distance_change_pct": change(dist, prev_dist),
                },
            })
        return {"trends": trends, "total_months": len(trends)}

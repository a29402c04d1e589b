"""Every statistics endpoint against the brute-force reference, on random histories, plus the
edge cases the contract names. Time is frozen with time-machine so "today" is known."""

import datetime as dt
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from activities.models import Activity, Tag
from tests.support.api import bearer_client
from tests.support.factories import ActivityFactory, TagFactory, UserFactory
from tests.support.stats_reference import Reference

TIMEZONES = ["UTC", "America/New_York", "Europe/Paris", "Pacific/Auckland", "Pacific/Kiritimati",
             "America/Adak", "Asia/Kathmandu", "Australia/Lord_Howe"]
TYPES = ["running", "cycling", "swimming", "yoga", "gym", "walking"]
TAGS = ["morning", "evening", "outdoor", "indoor", "race", "easy"]
# Instants chosen around the hard parts: just after the EU spring DST change, and a month
# boundary that is already February in UTC but still 31 January in the Americas.
NOWS = [
    dt.datetime(2026, 3, 30, 10, 17, tzinfo=dt.UTC),
    dt.datetime(2026, 2, 1, 4, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 1, 12, 5, tzinfo=dt.UTC),  # the US fall-back day
]

ENDPOINTS = {
    "range": "/api/v1/activities/stats",
    "weekly": "/api/v1/users/me/stats/weekly",
    "monthly": "/api/v1/users/me/stats/monthly",
    "by_type": "/api/v1/users/me/stats/by-type",
    "summary": "/api/v1/users/me/summary",
    "top_tags": "/api/v1/users/me/tags/top",
    "streaks": "/api/v1/users/me/streaks",
    "records": "/api/v1/analytics/records",
    "trends": "/api/v1/analytics/trends/monthly",
}


def expected_for(ref: Reference, name: str):
    return {
        "range": ref.range_stats,
        "weekly": lambda: ref.period(7, False),
        "monthly": lambda: ref.period(30, True),
        "by_type": ref.by_type,
        "summary": ref.summary,
        "top_tags": ref.top_tags,
        "streaks": ref.streaks,
        "records": ref.records,
        "trends": ref.trends,
    }[name]()


def random_history(rng: random.Random, user, now: dt.datetime, count: int):
    tz = ZoneInfo(user.timezone)
    today = now.astimezone(tz).date()
    tags = [Tag.objects.get_or_create(user=user, name=name)[0] for name in TAGS]
    # Runs of consecutive active days separated by gaps, so streaks of many lengths exist.
    days, day = [], today - dt.timedelta(days=rng.randint(0, 2))
    while len(days) < count:
        for _ in range(rng.randint(1, 9)):
            days.append(day)
            day -= dt.timedelta(days=1)
        day -= dt.timedelta(days=rng.choice([1, 1, 2, 5, 20]))
    rows = []
    for day in days[:count]:
        local_time = rng.choice([dt.time(0, 10), dt.time(6, 30), dt.time(12, 0), dt.time(18, 45), dt.time(23, 50)])
        moment = dt.datetime.combine(day, local_time, tzinfo=tz)
        if moment > now:
            moment = now - dt.timedelta(minutes=rng.randint(1, 30))
        activity_type = rng.choice(TYPES)
        has_distance = activity_type not in {"yoga", "gym"} and rng.random() > 0.1
        rows.append(Activity(
            user=user,
            activity_type=activity_type,
            duration_minutes=rng.randint(1, 240),
            distance_km=Decimal(rng.randint(0, 6000)) / 100 if has_distance else None,
            calories_burned=rng.randint(0, 1500) if rng.random() > 0.2 else None,
            activity_date=moment,
            deleted_at=now if rng.random() < 0.1 else None,
        ))
    created = Activity.objects.bulk_create(rows)
    links = [Activity.tags.through(activity_id=a.pk, tag_id=t.pk)
             for a in created for t in rng.sample(tags, rng.randint(0, 3))]
    Activity.tags.through.objects.bulk_create(links)


def all_rows():
    return list(Activity.objects.prefetch_related("tags"))  # the reference reads Activity.tag_names


def fetch(client, path, params=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params or {})
    assert response.status_code == 200, (path, response.content)
    return response, len(queries.captured_queries)


@pytest.mark.parametrize("now", NOWS, ids=lambda n: n.strftime("%Y-%m-%d"))
@pytest.mark.parametrize("seed", [1, 2])
def test_every_endpoint_matches_the_reference_on_random_histories(db, now, seed):
    rng = random.Random(seed * 1000 + now.toordinal())
    with time_machine.travel(now, tick=False):
        users = [UserFactory(timezone=tz) for tz in rng.sample(TIMEZONES, 3)]
        for user in users:
            random_history(rng, user, now, rng.randint(40, 120))
        rows = all_rows()
        for user in users:
            client, ref = bearer_client(user), Reference(user, rows, now)
            for name, path in ENDPOINTS.items():
                response, queries = fetch(client, path)
                assert response.json() == expected_for(ref, name), (user.timezone, name)
                assert queries <= 3, (name, queries)
                assert response["X-Cache"] == "MISS"
            # Parameters: explicit ranges, tag limits, trend windows and type filters.
            start, end = ref.today - dt.timedelta(days=90), ref.today - dt.timedelta(days=3)
            response, _ = fetch(client, ENDPOINTS["range"], {"start_date": start, "end_date": end})
            assert response.json() == ref.range_stats(start, end)
            response, _ = fetch(client, ENDPOINTS["top_tags"], {"limit": 2})
            assert response.json() == ref.top_tags(limit=2)
            response, _ = fetch(client, ENDPOINTS["trends"], {"months": 7, "activity_type": "Running"})
            assert response.json() == ref.trends(months=7, activity_type="running")


# --- edge cases -------------------------------------------------------------------------------

NOW = dt.datetime(2026, 3, 30, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def body(client, name, params=None):
    return fetch(client, ENDPOINTS[name], params)[0].json()


def test_no_activities_at_all(frozen, user, auth_client):
    assert body(auth_client, "range")["total_activities"] == 0
    assert body(auth_client, "weekly") == {
        "period": "last_7_days", "start_date": "2026-03-24", "end_date": "2026-03-30", "total_activities": 0,
        "total_duration_minutes": 0, "total_distance_km": 0.0, "avg_duration_minutes": 0}
    assert body(auth_client, "by_type") == {"activity_breakdown": {}, "total_activities": 0}
    summary = body(auth_client, "summary")
    assert summary["activity_level"] == "inactive" and summary["last_activity_date"] is None
    assert body(auth_client, "streaks") == {"current_streak_days": 0, "longest_streak_days": 0,
                                            "longest_streak_start": None, "longest_streak_end": None,
                                            "today": "2026-03-30"}
    assert body(auth_client, "records") == {"records": {}, "longest_streak_days": {
        "value": 0, "start_date": None, "end_date": None}}
    assert body(auth_client, "top_tags") == {"tags": [], "total_unique_tags": 0}
    trends = body(auth_client, "trends", {"months": 3})
    assert [m["month"] for m in trends["trends"]] == ["2026-01", "2026-02", "2026-03"]
    assert all(m["total_activities"] == 0 and m["average_pace_min_per_km"] is None
               and m["vs_previous_month"] == {"activities_change_pct": None, "distance_change_pct": None}
               for m in trends["trends"])


def test_one_activity(frozen, user, auth_client):
    activity = ActivityFactory(user=user, activity_date=NOW - dt.timedelta(days=3), duration_minutes=40,
                               distance_km=Decimal("8.00"), calories_burned=None, tags=["solo"])
    summary = body(auth_client, "summary")
    assert (summary["total_activities"], summary["activity_level"], summary["unique_tag_count"]) == (1, "beginner", 1)
    assert (summary["current_streak_days"], summary["longest_streak_days"]) == (0, 1)
    records = body(auth_client, "records")["records"]["running"]
    assert records["fastest_pace_min_per_km"] == {"value": 5.0, "activity_id": activity.pk,
                                                  "activity_date": "2026-03-27T10:00:00Z"}
    assert "most_calories" not in records


def test_activities_only_today_make_a_one_day_streak(frozen, user, auth_client):
    ActivityFactory.create_batch(3, user=user, activity_date=NOW - dt.timedelta(hours=2))
    assert body(auth_client, "streaks") == {"current_streak_days": 1, "longest_streak_days": 1,
                                            "longest_streak_start": "2026-03-30", "longest_streak_end": "2026-03-30",
                                            "today": "2026-03-30"}
    assert body(auth_client, "weekly")["total_activities"] == 3


def test_streak_broken_yesterday_is_not_current(frozen, user, auth_client):
    for days_ago in (2, 3, 4):
        ActivityFactory(user=user, activity_date=NOW - dt.timedelta(days=days_ago))
    streaks = body(auth_client, "streaks")
    assert (streaks["current_streak_days"], streaks["longest_streak_days"]) == (0, 3)


def test_streak_alive_because_today_is_not_over(frozen, user, auth_client):
    for days_ago in (1, 2, 3, 4, 5):
        ActivityFactory(user=user, activity_date=NOW - dt.timedelta(days=days_ago))
    assert body(auth_client, "streaks")["current_streak_days"] == 5


def test_streak_survives_the_daylight_saving_change(frozen, user, auth_client):
    user.timezone = "Europe/Paris"  # clocks went forward at 02:00 on Sunday 29 March 2026
    user.save()
    paris = ZoneInfo("Europe/Paris")
    for day in (27, 28, 29, 30):
        ActivityFactory(user=user, activity_date=dt.datetime(2026, 3, day, 0, 30, tzinfo=paris))
    streaks = body(auth_client, "streaks")
    assert (streaks["current_streak_days"], streaks["longest_streak_start"]) == (4, "2026-03-27")


@pytest.mark.parametrize(("now", "moments", "streak"), [
    # Havana falls back at 01:00 on 1 November 2026: 00:00-00:59 happens twice, and PostgreSQL reads
    # "midnight" as the second one, an hour after the day began.
    (dt.datetime(2026, 11, 1, 18, tzinfo=dt.UTC), [
        dt.datetime(2026, 10, 30, 12, 0), dt.datetime(2026, 10, 31, 23, 50),
        dt.datetime(2026, 11, 1, 0, 30, fold=0), dt.datetime(2026, 11, 1, 0, 20, fold=1),
        dt.datetime(2026, 10, 27, 9, 0)], 3),
    # It springs forward at 00:00 on 8 March 2026: that day has no midnight and starts at 01:00.
    (dt.datetime(2026, 3, 9, 18, tzinfo=dt.UTC), [
        dt.datetime(2026, 3, 6, 23, 59), dt.datetime(2026, 3, 7, 23, 50), dt.datetime(2026, 3, 8, 1, 0),
        dt.datetime(2026, 3, 9, 0, 5), dt.datetime(2026, 3, 4, 9, 0)], 4),
], ids=["fall-back", "spring-forward"])
def test_streaks_across_a_change_of_clocks_at_midnight(user, now, moments, streak):
    user.timezone = "America/Havana"
    user.save()
    havana = ZoneInfo("America/Havana")
    with time_machine.travel(now, tick=False):
        for moment in moments:
            ActivityFactory(user=user, activity_date=moment.replace(tzinfo=havana))
        client, ref = bearer_client(user), Reference(user, all_rows(), now)
        streaks = body(client, "streaks")
        assert streaks == ref.streaks()
        assert (streaks["current_streak_days"], streaks["longest_streak_days"]) == (streak, streak)
        assert body(client, "records") == ref.records()


def test_late_evening_belongs_to_the_local_month(user):
    user.timezone = "America/New_York"
    user.save()
    with time_machine.travel(dt.datetime(2026, 2, 15, 12, tzinfo=dt.UTC), tick=False):
        auth_client = bearer_client(user)
        # 23:30 on 31 January in New York is 04:30 on 1 February in UTC.
        ActivityFactory(user=user, activity_date=dt.datetime(2026, 2, 1, 4, 30, tzinfo=dt.UTC),
                        distance_km=Decimal("10.00"))
        months = {m["month"]: m["total_activities"] for m in body(auth_client, "trends", {"months": 2})["trends"]}
        assert months == {"2026-01": 1, "2026-02": 0}
        january = body(auth_client, "range", {"start_date": "2026-01-31", "end_date": "2026-01-31"})
        assert january["total_activities"] == 1


def test_month_without_activity_inside_a_trend(frozen, user, auth_client):
    ActivityFactory(user=user, activity_date=dt.datetime(2026, 1, 10, tzinfo=dt.UTC), distance_km=Decimal("4.00"))
    ActivityFactory(user=user, activity_date=dt.datetime(2026, 3, 10, tzinfo=dt.UTC), distance_km=Decimal("6.00"))
    trends = body(auth_client, "trends", {"months": 3})["trends"]
    assert [(m["month"], m["total_activities"]) for m in trends] == [("2026-01", 1), ("2026-02", 0), ("2026-03", 1)]
    assert trends[1]["vs_previous_month"] == {"activities_change_pct": -100.0, "distance_change_pct": -100.0}
    assert trends[2]["vs_previous_month"] == {"activities_change_pct": None, "distance_change_pct": None}


def test_other_users_and_soft_deleted_rows_never_count(frozen, user, auth_client, other_user):
    ActivityFactory(user=user, activity_date=NOW - dt.timedelta(days=1), tags=["mine"])
    ActivityFactory(user=other_user, activity_date=NOW - dt.timedelta(hours=1), distance_km=Decimal("42.00"),
                    tags=["theirs"])
    ActivityFactory(user=user, activity_date=NOW - dt.timedelta(hours=1), distance_km=Decimal("99.00"),
                    deleted_at=NOW, tags=["gone"])
    for name in ENDPOINTS:
        text = str(body(auth_client, name))
        assert "42.0" not in text and "99.0" not in text and "theirs" not in text and "gone" not in text, name
    assert body(auth_client, "summary")["total_activities"] == 1
    assert body(auth_client, "streaks")["current_streak_days"] == 1


def test_a_tag_no_live_activity_uses_is_not_a_used_tag(frozen, user, auth_client):
    ActivityFactory.create_batch(2, user=user, tags=["hills"])
    ActivityFactory(user=user, tags=["hills", "track"], deleted_at=NOW)
    TagFactory(user=user, name="lonely")  # its activity was retagged: the tag stays, unused
    assert body(auth_client, "top_tags") == {"tags": [{"tag_name": "hills", "count": 2}], "total_unique_tags": 1}
    assert body(auth_client, "summary")["unique_tag_count"] == 1


def test_pace_records_need_a_distance_of_at_least_one_km(frozen, user, auth_client):
    ActivityFactory(user=user, activity_type="swimming", distance_km=Decimal("0.80"), duration_minutes=10)
    ActivityFactory(user=user, activity_type="swimming", distance_km=None, duration_minutes=5)
    ActivityFactory(user=user, activity_type="yoga", distance_km=None, duration_minutes=60)
    records = body(auth_client, "records")["records"]
    assert "fastest_pace_min_per_km" not in records["swimming"]
    assert records["swimming"]["longest_distance_km"]["value"] == 0.8
    assert set(records["yoga"]) == {"longest_duration_minutes", "most_calories"}


def test_a_record_tied_by_another_activity_stays_with_the_earliest(frozen, user, auth_client):
    def log(days_ago, minutes, km, calories, **extra):
        return ActivityFactory(user=user, activity_type="cycling", duration_minutes=minutes,
                               distance_km=Decimal(km), calories_burned=calories,
                               activity_date=NOW - dt.timedelta(days=days_ago), **extra)

    first = log(9, 30, "10.00", 500)  # pace 3:00, the first to reach each of these records
    log(5, 30, "10.00", 500)  # ties it on everything, later
    log(4, 60, "20.00", 500)  # the same pace as an exact quotient, later
    log(20, 30, "10.00", 500, deleted_at=NOW)  # earlier, but deleted
    log(12, 90, "30.00", 200, deleted_at=NOW)  # better distance and duration, but deleted
    same_moment = [log(2, 120, "5.00", None), log(2, 120, "5.00", None)]  # the same instant: the lower id
    records = body(auth_client, "records")["records"]["cycling"]
    assert {kind: (r["value"], r["activity_id"]) for kind, r in records.items()} == {
        "longest_distance_km": (20.0, Activity.objects.get(duration_minutes=60).pk),
        "longest_duration_minutes": (120, min(a.pk for a in same_moment)),
        "most_calories": (500, first.pk),
        "fastest_pace_min_per_km": (3.0, first.pk),
    }


@pytest.mark.parametrize(("name", "params", "field"), [
    ("range", {"start_date": "2026-02-30"}, "start_date"),
    ("range", {"end_date": "soon"}, "end_date"),
    ("range", {"start_date": "2026-03-10", "end_date": "2026-03-01"}, "start_date"),
    ("top_tags", {"limit": 0}, "limit"),
    ("top_tags", {"limit": 51}, "limit"),
    ("trends", {"months": 0}, "months"),
    ("trends", {"months": "x"}, "months"),
])
def test_bad_parameters_are_400_problems(user, auth_client, name, params, field):
    response = auth_client.get(ENDPOINTS[name], params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in response.json()["errors"]


def test_statistics_need_authentication(api_client, db):
    for path in ENDPOINTS.values():
        assert api_client.get(path).status_code == 401

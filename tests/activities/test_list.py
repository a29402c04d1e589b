"""The activity list: pagination, every filter, ordering, and a constant number of queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.support.factories import ActivityFactory

URL = "/api/v1/activities"
UTC = dt.UTC


def at(*args, tz=UTC):
    return dt.datetime(*args, tzinfo=tz)


def ids(response):
    assert response.status_code == 200, response.content
    return [a["id"] for a in response.json()["results"]]


# --- pagination -------------------------------------------------------------------------------


def test_default_page_is_20_newest_first_with_links(auth_client, user):
    activities = [ActivityFactory(user=user, activity_date=at(2026, 1, 1) + dt.timedelta(hours=i)) for i in range(45)]
    body = auth_client.get(URL).json()
    assert body["count"] == 45
    assert [a["id"] for a in body["results"]] == [a.pk for a in reversed(activities)][:20]
    assert body["previous"] is None
    assert body["next"] == "http://testserver/api/v1/activities?limit=20&offset=20"
    last = auth_client.get(URL, {"limit": 20, "offset": 40}).json()
    assert len(last["results"]) == 5 and last["next"] is None and last["count"] == 45


def test_the_cached_total_follows_every_write_at_once(auth_client, user, client):
    """The total of an unfiltered list comes from the cache (activities.selectors.activity_count);
    every write through the API shows in the next answer, and in the browser's page count."""
    def total():
        first, second = auth_client.get(URL).json()["count"], auth_client.get(URL).json()["count"]
        assert first == second
        return first

    payload = {"activity_type": "running", "duration_minutes": 30, "activity_date": "2026-03-01T07:00:00Z"}
    assert total() == 0
    created = [auth_client.post(URL, payload, format="json").json()["id"] for _ in range(3)]
    assert total() == 3
    batch = auth_client.post(f"{URL}/batch", {"activities": [payload, payload]}, format="json")
    assert batch.status_code in (200, 201, 207), batch.content
    assert total() == 5
    assert auth_client.delete(f"{URL}/{created[0]}").status_code == 204
    assert total() == 4
    assert auth_client.post(f"{URL}/{created[0]}/restore").status_code == 200
    assert total() == 5
    assert auth_client.get(URL, {"type": "cycling"}).json()["count"] == 0  # a filtered total is counted
    cycling = ActivityFactory.create_batch(25, user=user, activity_type="cycling")
    assert auth_client.get(URL, {"type": "cycling"}).json()["count"] == 25
    assert auth_client.delete(f"{URL}/{created[1]}").status_code == 204  # also counts the factory's rows
    assert total() == 29
    client.force_login(user)
    assert "Page 1 of 2" in client.get("/activities").content.decode()  # 20 a page
    for activity in cycling[:9]:
        assert auth_client.delete(f"{URL}/{activity.pk}").status_code == 204
    assert total() == 20
    assert "Page 1 of" not in client.get("/activities").content.decode()


def test_a_page_of_the_list_reads_its_total_with_the_user_in_one_redis_round_trip(auth_client, user, redis_commands):
    """activelog/read_ahead.py: the total is named before the user is read, and its value carries
    the statistics version it was counted under."""
    ActivityFactory.create_batch(3, user=user)
    assert auth_client.get(URL).json()["count"] == 3  # caches the user and the total
    redis_commands.clear()

    with CaptureQueriesContext(connection) as queries:
        body = auth_client.get(URL, {"limit": 2}).json()

    assert (body["count"], len(body["results"])) == (3, 2)
    assert len(redis_commands) == 1, redis_commands  # user, throttle and total together
    assert len(queries) == 1  # the page; no COUNT
    payload = {"activity_type": "running", "duration_minutes": 30, "activity_date": "2026-03-01T07:00:00Z"}
    assert auth_client.post(URL, payload, format="json").status_code == 201  # bumps the version
    assert auth_client.get(URL).json()["count"] == 4


def test_limit_is_clamped_to_100(auth_client, user):
    ActivityFactory.create_batch(105, user=user)
    body = auth_client.get(URL, {"limit": 500}).json()
    assert len(body["results"]) == 100
    assert body["count"] == 105


@pytest.mark.parametrize(("param", "value"), [("limit", "0"), ("limit", "-3"), ("limit", "ten"),
                                              ("offset", "-1"), ("offset", "x")])
def test_bad_pagination_is_a_400_naming_the_parameter(auth_client, param, value):
    response = auth_client.get(URL, {param: value})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert param in response.json()["errors"]


def test_only_own_live_activities_are_listed(auth_client, user, other_user):
    mine = ActivityFactory(user=user)
    ActivityFactory(user=user, deleted_at=timezone.now())
    ActivityFactory(user=other_user)
    assert ids(auth_client.get(URL)) == [mine.pk]


# --- query count ------------------------------------------------------------------------------


def _queries_for(client, limit):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL, {"limit": limit})
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.json()["results"])


def test_query_count_does_not_grow_with_page_size(auth_client, user):
    for i in range(120):
        ActivityFactory(user=user, tags=[f"t{i % 7}", f"u{i % 3}"])
    auth_client.get(URL)  # the user and the total are cached from here on
    small, n_small = _queries_for(auth_client, 5)
    large, n_large = _queries_for(auth_client, 100)
    assert (n_small, n_large) == (5, 100)
    assert small == large
    assert large <= 1  # the page (with its tags); the total from the cache


# --- filters ----------------------------------------------------------------------------------


def test_filter_by_type_alias_repeat_and_comma(auth_client, user):
    run = ActivityFactory(user=user, activity_type="running", activity_date=at(2026, 1, 3))
    ride = ActivityFactory(user=user, activity_type="cycling", activity_date=at(2026, 1, 2))
    ActivityFactory(user=user, activity_type="yoga", distance_km=None, activity_date=at(2026, 1, 1))
    assert ids(auth_client.get(URL, {"activity_type": "running"})) == [run.pk]
    assert ids(auth_client.get(URL, {"type": "Running"})) == [run.pk]
    assert ids(auth_client.get(URL, {"activity_type": "running,cycling"})) == [run.pk, ride.pk]
    assert ids(auth_client.get(f"{URL}?type=running&type=cycling")) == [run.pk, ride.pk]
    assert ids(auth_client.get(URL, {"activity_type": "swimming"})) == []


def test_date_only_bounds_use_the_users_timezone(auth_client, user):
    user.timezone = "America/New_York"  # UTC-5 in January
    user.save()
    ny = dt.timezone(dt.timedelta(hours=-5))
    inside_late = ActivityFactory(user=user, activity_date=at(2026, 1, 31, 23, 30, tz=ny))  # 1 Feb 04:30 UTC
    inside_early = ActivityFactory(user=user, activity_date=at(2026, 1, 10, 0, 0, tz=ny))
    ActivityFactory(user=user, activity_date=at(2026, 2, 1, 0, 0, tz=ny))  # next local day
    ActivityFactory(user=user, activity_date=at(2026, 1, 9, 23, 59, tz=ny))  # day before start
    response = auth_client.get(URL, {"start_date": "2026-01-10", "end_date": "2026-01-31"})
    assert ids(response) == [inside_late.pk, inside_early.pk]


def test_datetime_bounds_are_inclusive(auth_client, user):
    a = ActivityFactory(user=user, activity_date=at(2026, 1, 1, 8))
    b = ActivityFactory(user=user, activity_date=at(2026, 1, 1, 9))
    ActivityFactory(user=user, activity_date=at(2026, 1, 1, 10))
    response = auth_client.get(URL, {"start_date": "2026-01-01T08:00:00Z", "end_date": "2026-01-01T10:00:00+01:00"})
    assert ids(response) == [b.pk, a.pk]
    # An offset written with '+' in a raw query string arrives as a space; it still parses.
    assert ids(auth_client.get(f"{URL}?end_date=2026-01-01T10:00:00+01:00")) == [b.pk, a.pk]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("start_date", "not-a-date"),
        ("end_date", "2026-13-01"),
        ("start_date", "2026-01-01T10:00:00"),
        ("min_distance_km", "far"),
        ("max_distance_km", "-1"),
        ("min_duration", "1x"),
        ("max_duration", "abc"),
        ("ordering", "title"),
        ("ordering", "-password"),
        ("include_deleted", "maybe"),
    ],
)
def test_unparsable_filters_are_a_400_naming_the_parameter(auth_client, param, value):
    response = auth_client.get(URL, {param: value})
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert list(response.json()["errors"]) == [param]


def test_tag_filter_any_of_without_duplicates(auth_client, user, other_user):
    both = ActivityFactory(user=user, tags=["morning", "outdoor"], activity_date=at(2026, 1, 3))
    one = ActivityFactory(user=user, tags=["outdoor"], activity_date=at(2026, 1, 2))
    ActivityFactory(user=user, tags=["indoor"], activity_date=at(2026, 1, 1))
    ActivityFactory(user=other_user, tags=["morning"])
    assert ids(auth_client.get(URL, {"tag": "morning"})) == [both.pk]
    body = auth_client.get(f"{URL}?tag=morning&tag=outdoor").json()
    assert [a["id"] for a in body["results"]] == [both.pk, one.pk]
    assert body["count"] == 2


def test_search_is_case_insensitive_over_title_description_notes(auth_client, user):
    t = ActivityFactory(user=user, title="Hill REPEATS", activity_date=at(2026, 1, 3))
    d = ActivityFactory(user=user, description="some repeats today", activity_date=at(2026, 1, 2))
    n = ActivityFactory(user=user, notes="Repeats felt hard", activity_date=at(2026, 1, 1))
    ActivityFactory(user=user, title="Easy", notes="nothing")
    assert ids(auth_client.get(URL, {"search": "repeats"})) == [t.pk, d.pk, n.pk]


def test_numeric_bounds(auth_client, user):
    short = ActivityFactory(user=user, duration_minutes=20, distance_km=Decimal("3.00"), activity_date=at(2026, 1, 3))
    mid = ActivityFactory(user=user, duration_minutes=45, distance_km=Decimal("8.50"), activity_date=at(2026, 1, 2))
    ActivityFactory(user=user, duration_minutes=90, distance_km=None, activity_date=at(2026, 1, 1))
    assert ids(auth_client.get(URL, {"min_distance_km": "3.5"})) == [mid.pk]
    assert ids(auth_client.get(URL, {"max_distance_km": "8.5"})) == [short.pk, mid.pk]
    assert ids(auth_client.get(URL, {"min_duration": 21, "max_duration": 60})) == [mid.pk]


def test_filters_combine_with_and(auth_client, user):
    target = ActivityFactory(user=user, activity_type="running", tags=["race"], duration_minutes=50)
    ActivityFactory(user=user, activity_type="running", tags=["easy"], duration_minutes=50)
    ActivityFactory(user=user, activity_type="cycling", tags=["race"], duration_minutes=50)
    ActivityFactory(user=user, activity_type="running", tags=["race"], duration_minutes=10)
    response = auth_client.get(URL, {"type": "running", "tag": "race", "min_duration": 30})
    assert ids(response) == [target.pk]


@pytest.mark.parametrize("field", ["duration_minutes", "distance_km", "calories_burned", "activity_date", "created_at"])
def test_ordering_by_each_field_with_nulls_last_and_id_tiebreak(auth_client, user, field):
    values = {
        "duration_minutes": [30, 10, 30, 60],
        "distance_km": [Decimal("5"), None, Decimal("5"), Decimal("1")],
        "calories_burned": [200, None, 200, 50],
        "activity_date": [at(2026, 1, 2), at(2026, 1, 1), at(2026, 1, 2), at(2026, 1, 3)],
        "created_at": None,
    }[field]
    activities = [ActivityFactory(user=user, **({field: v} if values else {})) for v in (values or [0, 1, 2, 3])]

    def expected(descending):
        def key(a):
            return getattr(a, field)

        present = [a for a in activities if key(a) is not None]
        missing = [a for a in activities if key(a) is None]
        present.sort(key=lambda a: -a.pk)  # tie-break: newest id first, in both directions
        present.sort(key=key, reverse=descending)
        return [a.pk for a in present + sorted(missing, key=lambda a: -a.pk)]

    assert ids(auth_client.get(URL, {"ordering": field})) == expected(False)
    assert ids(auth_client.get(URL, {"ordering": f"-{field}"})) == expected(True)


def test_pages_are_stable_with_equal_sort_keys(auth_client, user):
    same_day = at(2026, 1, 1, 7)
    created = {ActivityFactory(user=user, activity_date=same_day).pk for _ in range(25)}
    seen = []
    for offset in (0, 10, 20):
        seen += ids(auth_client.get(URL, {"limit": 10, "offset": offset}))
    assert len(seen) == 25 and set(seen) == created


def test_unknown_query_parameters_are_ignored(auth_client, user):
    ActivityFactory(user=user)
    assert auth_client.get(URL, {"colour": "blue"}).json()["count"] == 1

"""Statistics are cached per user in Redis, yet every write shows in the very next response;
with Redis unreachable they are computed live."""

import datetime as dt
import logging

import pytest
from django.utils import timezone

from tests.support.factories import ActivityFactory

SUMMARY = "/api/v1/users/me/summary"
ALL = ["/api/v1/activities/stats", "/api/v1/users/me/stats/weekly", "/api/v1/users/me/stats/monthly",
       "/api/v1/users/me/stats/by-type", SUMMARY, "/api/v1/users/me/tags/top", "/api/v1/users/me/streaks",
       "/api/v1/analytics/records", "/api/v1/analytics/trends/monthly"]


def payload(**overrides):
    data = {"activity_type": "running", "duration_minutes": 30, "distance_km": 5,
            "activity_date": (timezone.now() - dt.timedelta(hours=1)).isoformat()}
    data.update(overrides)
    return data


def warm(client, path=SUMMARY):
    first, second = client.get(path), client.get(path)
    assert (first["X-Cache"], second["X-Cache"]) == ("MISS", "HIT")
    assert first.json() == second.json()
    return second.json()


def test_every_endpoint_is_cached_per_user(auth_client, other_client, user, other_user):
    ActivityFactory(user=user)
    for path in ALL:
        warm(auth_client, path)
    assert other_client.get(SUMMARY)["X-Cache"] == "MISS"  # not the first user's entry
    assert other_client.get(SUMMARY).json()["total_activities"] == 0


def test_parameters_are_part_of_the_key(auth_client, user):
    ActivityFactory(user=user)
    assert auth_client.get("/api/v1/users/me/tags/top", {"limit": 1})["X-Cache"] == "MISS"
    assert auth_client.get("/api/v1/users/me/tags/top", {"limit": 2})["X-Cache"] == "MISS"
    assert auth_client.get("/api/v1/users/me/tags/top", {"limit": 1})["X-Cache"] == "HIT"


def _write_paths(client, user):
    """Each write path, as (description, action, how the next summary must differ)."""
    kept = ActivityFactory(user=user, duration_minutes=30)
    deleted = ActivityFactory(user=user, duration_minutes=30, deleted_at=timezone.now())
    base = f"/api/v1/activities/{kept.pk}"
    return [
        ("create", lambda: client.post("/api/v1/activities", payload(), format="json"),
         lambda s: s["total_activities"] == 2),
        ("patch", lambda: client.patch(base, {"duration_minutes": 100}, format="json"),
         lambda s: s["total_duration_minutes"] == 100),
        ("put", lambda: client.put(base, payload(duration_minutes=50), format="json"),
         lambda s: s["total_duration_minutes"] == 50),
        ("delete", lambda: client.delete(base), lambda s: s["total_activities"] == 0),
        ("restore", lambda: client.post(f"/api/v1/activities/{deleted.pk}/restore"),
         lambda s: s["total_activities"] == 2),
        ("batch create", lambda: client.post("/api/v1/activities/batch",
                                             {"activities": [payload(), payload()]}, format="json"),
         lambda s: s["total_activities"] == 3),
        ("batch delete", lambda: client.delete("/api/v1/activities/batch", {"ids": [kept.pk, deleted.pk]},
                                               format="json"),
         lambda s: s["total_activities"] == 0),
        ("timezone change", lambda: client.patch("/api/v1/users/me", {"timezone": "Pacific/Kiritimati"},
                                                 format="json"),
         lambda s: s["member_since"] == timezone.localtime(user.date_joined,
                                                           dt.timezone(dt.timedelta(hours=14))).date().isoformat()),
    ]


@pytest.mark.parametrize("index", range(8), ids=["create", "patch", "put", "delete", "restore", "batch-create",
                                                 "batch-delete", "timezone"])
def test_a_write_is_visible_in_the_very_next_response(auth_client, user, index):
    name, action, fresh = _write_paths(auth_client, user)[index]
    warm(auth_client)
    response = action()
    assert response.status_code < 300, (name, response.content)
    after = auth_client.get(SUMMARY)
    assert after["X-Cache"] == "MISS", name
    assert fresh(after.json()), (name, after.json())


def test_a_soft_deleted_activity_restored_by_an_admin_shows_up(auth_client, user, admin_client):
    activity = ActivityFactory(user=user, deleted_at=timezone.now())
    assert warm(auth_client)["total_activities"] == 0
    response = admin_client.post("/admin/activities/activity/", {
        "action": "restore_activities", "_selected_action": [activity.pk]})
    assert response.status_code == 302
    assert auth_client.get(SUMMARY).json()["total_activities"] == 1


def test_with_redis_down_every_endpoint_answers_correctly_and_warns_once(redis_down, auth_client, user, caplog):
    ActivityFactory(user=user, duration_minutes=42, tags=["t"])
    caplog.set_level(logging.WARNING, logger="activelog.cache")
    for _ in range(2):
        for path in ALL:
            response = auth_client.get(path)
            assert response.status_code == 200, (path, response.content)
            assert response["X-Cache"] == "MISS"
    assert auth_client.get(SUMMARY).json()["total_duration_minutes"] == 42
    assert auth_client.get("/api/v1/users/me/tags/top").json()["total_unique_tags"] == 1
    warnings = [r for r in caplog.records if r.name == "activelog.cache"]
    assert len(warnings) <= 1
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in warnings)


@pytest.mark.parametrize("path", ALL)
def test_an_unchanged_answer_is_a_304_to_its_etag(auth_client, user, path):
    ActivityFactory(user=user)
    first = auth_client.get(path)
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('"') and first["Cache-Control"] == "private, no-cache"
    again = auth_client.get(path, HTTP_IF_NONE_MATCH=etag)
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", etag)
    for header in (f'W/{etag}', f'"something-else", {etag}', "*"):
        assert auth_client.get(path, HTTP_IF_NONE_MATCH=header).status_code == 304, header
    assert auth_client.get(path, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


def test_a_write_a_new_time_zone_or_another_user_changes_the_etag(auth_client, other_client, user):
    ActivityFactory(user=user)
    etag = auth_client.get(SUMMARY)["ETag"]
    assert auth_client.post("/api/v1/activities", payload(), format="json").status_code == 201
    after_write = auth_client.get(SUMMARY, HTTP_IF_NONE_MATCH=etag)
    assert after_write.status_code == 200 and after_write.json()["total_activities"] == 2
    assert after_write["ETag"] != etag
    etag = after_write["ETag"]
    assert auth_client.patch("/api/v1/users/me", {"timezone": "Asia/Tokyo"}, format="json").status_code == 200
    assert auth_client.get(SUMMARY, HTTP_IF_NONE_MATCH=etag).status_code == 200
    assert other_client.get(SUMMARY, HTTP_IF_NONE_MATCH=etag).status_code == 200  # not their answer


@pytest.mark.parametrize("path", ["/api/v1/analytics/trends/monthly?months=6", SUMMARY])
def test_a_cached_answer_is_read_with_the_user_in_one_redis_round_trip(auth_client, user, redis_commands, path):
    """StatsView.cache_keys_read_ahead: the answer's slot is named before the user is read; the
    answer carries its fingerprint (version, time zone, day, parameters), so a write still shows."""
    ActivityFactory(user=user, distance_km=5)
    warm(auth_client, path)
    redis_commands.clear()

    response = auth_client.get(path)

    assert response["X-Cache"] == "HIT"
    assert len(redis_commands) == 1, redis_commands  # user, throttle and answer together
    assert auth_client.post("/api/v1/activities", payload(distance_km=7), format="json").status_code == 201
    after = auth_client.get(path)
    assert after["X-Cache"] == "MISS" and after.json() != response.json()


def test_queries_that_differ_only_in_order_share_an_answer_and_other_parameters_do_not(auth_client, user):
    ActivityFactory(user=user, activity_date=timezone.now() - dt.timedelta(days=40))
    path = "/api/v1/analytics/trends/monthly"
    assert auth_client.get(path, {"months": 3, "activity_type": "running"})["X-Cache"] == "MISS"
    assert auth_client.get(f"{path}?activity_type=running&months=3")["X-Cache"] == "HIT"
    six = auth_client.get(path, {"months": 6, "activity_type": "running"})
    assert six["X-Cache"] == "MISS" and len(six.json()["trends"]) == 6


def test_a_valid_query_is_validated_once_per_time_zone_and_local_day(user, monkeypatch):
    """StatsView.validated_query: a valid query's parameters are remembered for the time zone and
    local day they were validated for; an invalid query is refused every time."""
    import time_machine

    from activities.statistics import serializers as s
    from tests.support.api import bearer_client

    validations = []
    is_valid = s.TrendsQuerySerializer.is_valid
    monkeypatch.setattr(s.TrendsQuerySerializer, "is_valid",
                        lambda self, **kw: validations.append(dict(self.initial_data)) or is_valid(self, **kw))
    trends = "/api/v1/analytics/trends/monthly"
    with time_machine.travel(dt.datetime(2026, 5, 20, 12, tzinfo=dt.UTC), tick=False):
        client = bearer_client(user)
        answers = [client.get(trends, {"months": "3"}) for _ in range(3)]
        assert [(a.status_code, len(a.json()["trends"])) for a in answers] == [(200, 3)] * 3
        assert len(validations) == 1
        assert client.get(trends, {"months": "4"}).status_code == 200 and len(validations) == 2
        for _ in range(2):
            refused = client.get(trends, {"months": "0"})
            assert refused.status_code == 400 and "months" in refused.json()["errors"]
        assert len(validations) == 4
        assert client.patch("/api/v1/users/me", {"timezone": "Asia/Tokyo"}, format="json").status_code == 200
        assert client.get(trends, {"months": "3"}).status_code == 200 and len(validations) == 5
    with time_machine.travel(dt.datetime(2026, 5, 21, 12, tzinfo=dt.UTC), tick=False):
        assert bearer_client(user).get(trends, {"months": "3"}).status_code == 200 and len(validations) == 6


def test_the_default_range_follows_the_local_day(user):
    """The range's default bounds depend on today: a query remembered yesterday gives today's."""
    import time_machine

    from tests.support.api import bearer_client

    for day in (20, 21):
        with time_machine.travel(dt.datetime(2026, 5, day, 12, tzinfo=dt.UTC), tick=False):
            response = bearer_client(user).get("/api/v1/activities/stats")
            assert response.status_code == 200, response.content
            body = response.json()
            today = dt.date(2026, 5, day)
            assert (body["start_date"], body["end_date"]) == ((today - dt.timedelta(days=29)).isoformat(),
                                                              today.isoformat())

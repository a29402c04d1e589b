"""One activity through the API is kept per reader (selectors.activity_get's ``kept``) and read
with the user in one Redis round trip, yet every change shows in the very next answer; another
user, another version of the query or Redis being down never gets a wrong answer."""

from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from activities import selectors, services
from activities.models import Activity, Photo, Tag
from tests.support.factories import ActivityFactory
from tests.support.images import jpeg

ONE = "/api/v1/activities/{}"


def read(client, activity_id, *, statements: int | None = None) -> dict:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(ONE.format(activity_id))
    assert response.status_code == 200, response.content
    if statements is not None:
        assert len(captured.captured_queries) == statements, [q["sql"] for q in captured.captured_queries]
    return response.json()


def test_the_second_read_is_the_same_answer_without_sql_in_one_redis_round_trip(auth_client, user,
                                                                                  redis_commands):
    activity = ActivityFactory(user=user, title="Hills", distance_km=8, tags=["b", "a"])
    auth_client.get("/api/v1/users/me")  # the user is in the authentication cache from here on
    first = read(auth_client, activity.pk, statements=1)
    redis_commands.clear()
    second = read(auth_client, activity.pk, statements=0)
    assert second == first
    assert (second["title"], second["tags"], second["distance_km"]) == ("Hills", ["a", "b"], 8.0)
    assert len(redis_commands) == 1, redis_commands  # user, throttle and the activity together


def test_every_change_shows_in_the_very_next_answer(auth_client, user):
    activity = ActivityFactory(user=user, title="Before", duration_minutes=30, tags=["old"])
    kept = lambda: read(auth_client, activity.pk)  # noqa: E731 - read twice: the second is the kept one
    assert kept()["title"] == "Before" and kept()["title"] == "Before"

    assert auth_client.patch(ONE.format(activity.pk), {"title": "After"}, format="json").status_code == 200
    assert kept()["title"] == "After"
    assert auth_client.patch(ONE.format(activity.pk), {"tags": ["new", "more"]}, format="json").status_code == 200
    assert kept()["tags"] == ["more", "new"]

    uploaded = auth_client.post(f"{ONE.format(activity.pk)}/photos", {"photos": [jpeg(), jpeg()]}, format="multipart")
    assert uploaded.status_code == 201, uploaded.content
    assert kept()["photo_count"] == 2
    photo = Photo.objects.filter(activity=activity).first()
    assert auth_client.delete(f"{ONE.format(activity.pk)}/photos/{photo.pk}").status_code == 204
    assert kept()["photo_count"] == 1

    tag = Tag.objects.get(user=user, name="new")
    tag.name = "renamed"
    services.tag_save(tag=tag)  # the admin's rename
    assert kept()["tags"] == ["more", "renamed"]

    assert auth_client.delete(ONE.format(activity.pk)).status_code == 204
    assert auth_client.get(ONE.format(activity.pk)).status_code == 404
    assert auth_client.post(f"{ONE.format(activity.pk)}/restore").status_code == 200
    assert kept()["title"] == "After"
    services.activities_delete(activities=Activity.objects.filter(pk=activity.pk))  # the admin's delete
    assert auth_client.get(ONE.format(activity.pk)).status_code == 404


def test_what_one_user_read_is_never_another_user_s_answer(auth_client, other_client, user):
    activity = ActivityFactory(user=user)
    read(auth_client, activity.pk)
    read(auth_client, activity.pk)
    assert other_client.get(ONE.format(activity.pk)).status_code == 404


def test_an_entry_read_under_another_version_or_by_another_query_is_read_again(auth_client, user):
    activity = ActivityFactory(user=user, title="Real")
    stand_in = selectors.activity_get(user=user, activity_id=activity.pk)
    stand_in.title = "Stale"
    key = selectors.activity_key(user.pk, activity.pk)
    user.refresh_from_db()
    for read_with in [(user.stats_version - 1, selectors._ACTIVITY_GET.digest),  # before the last write
                      (user.stats_version, "another-query"),  # another deploy's SQL or columns
                      "not a pair"]:
        cache.set(key, (read_with, stand_in) if read_with != "not a pair" else read_with)
        assert read(auth_client, activity.pk)["title"] == "Real", read_with
    cache.set(key, ((user.stats_version, selectors._ACTIVITY_GET.digest), stand_in))
    assert read(auth_client, activity.pk)["title"] == "Stale"  # the test's own entry, matching: served


def test_a_query_s_digest_is_stable_and_tells_queries_apart():
    from activelog.db import CompiledQuery

    again = CompiledQuery(selectors._ACTIVITY_GET.build, **selectors._ACTIVITY_GET.stand_ins)
    assert again.digest == selectors._ACTIVITY_GET.digest
    assert selectors._ACTIVITY_PAGES.digest != selectors._ACTIVITY_GET.digest


def test_with_redis_down_the_activity_is_read_from_the_database(redis_down, auth_client, user):
    activity = ActivityFactory(user=user, title="Still here")
    for _ in range(3):
        assert read(auth_client, activity.pk)["title"] == "Still here"
    assert auth_client.patch(ONE.format(activity.pk), {"title": "Changed"}, format="json").status_code == 200
    assert read(auth_client, activity.pk)["title"] == "Changed"

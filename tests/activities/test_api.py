"""The activities API contract (API.md §3): create, read, update, delete, restore, tags."""

import datetime as dt

import pytest
from django.utils import timezone

from activities.models import Activity, Tag
from tests.support.factories import ActivityFactory, TagFactory

URL = "/api/v1/activities"
PROBLEM = "application/problem+json"


def valid_payload(**overrides):
    payload = {
        "activity_type": "Running",
        "title": "Morning Run",
        "description": "Easy 5k",
        "duration_minutes": 30,
        "distance_km": 5.2,
        "calories_burned": 300,
        "notes": "Felt great",
        "activity_date": "2026-03-01T07:00:00Z",
        "tags": ["Morning", " outdoor ", "morning"],
    }
    payload.update(overrides)
    return payload


def assert_validation_problem(response, field):
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["type"] == "https://activelog.dev/problems/validation-error"
    assert field in body["errors"], body["errors"]
    return body


# --- create -----------------------------------------------------------------------------------


def test_create_returns_the_activity_with_location(auth_client, user):
    response = auth_client.post(URL, valid_payload(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["Location"] == f"http://testserver{URL}/{body['id']}"
    assert body == {
        "id": body["id"],
        "activity_type": "running",
        "title": "Morning Run",
        "description": "Easy 5k",
        "duration_minutes": 30,
        "distance_km": 5.2,
        "calories_burned": 300,
        "notes": "Felt great",
        "activity_date": "2026-03-01T07:00:00Z",
        "tags": ["morning", "outdoor"],
        "pace_min_per_km": 5.77,
        "photo_count": 0,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }
    stored = Activity.objects.get(pk=body["id"])
    assert stored.user == user
    assert sorted(Tag.objects.filter(user=user).values_list("name", flat=True)) == ["morning", "outdoor"]


def test_create_minimal_payload_uses_defaults(auth_client):
    response = auth_client.post(
        URL,
        {"activity_type": "yoga", "duration_minutes": 45, "activity_date": "2026-03-01T07:00:00+02:00"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["title"] == "" and body["description"] == "" and body["notes"] == ""
    assert body["distance_km"] is None and body["calories_burned"] is None
    assert body["pace_min_per_km"] is None
    assert body["tags"] == []
    assert body["activity_date"] == "2026-03-01T05:00:00Z"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("activity_type", "x"),
        ("activity_type", "  a  "),
        ("activity_type", "a" * 51),
        ("activity_type", None),
        ("title", "t" * 256),
        ("description", "d" * 1001),
        ("notes", "n" * 2001),
        ("duration_minutes", 0),
        ("duration_minutes", 1441),
        ("duration_minutes", "thirty"),
        ("duration_minutes", 12.5),
        ("distance_km", -0.01),
        ("distance_km", 1000.01),
        ("distance_km", 5.123),
        ("distance_km", "far"),
        ("calories_burned", -1),
        ("calories_burned", 20001),
        ("activity_date", "yesterday"),
        ("activity_date", "2026-03-01"),
        ("activity_date", "2026-03-01T07:00:00"),
        ("tags", "morning"),
        ("tags", [f"t{i}" for i in range(11)]),
    ],
)
def test_create_rejects_invalid_fields(auth_client, field, value):
    response = auth_client.post(URL, valid_payload(**{field: value}), format="json")
    assert_validation_problem(response, field)
    assert Activity.objects.count() == 0


@pytest.mark.parametrize("missing", ["activity_type", "duration_minutes", "activity_date"])
def test_create_requires_fields(auth_client, missing):
    payload = valid_payload()
    del payload[missing]
    assert_validation_problem(auth_client.post(URL, payload, format="json"), missing)


def test_tag_errors_are_reported_per_item(auth_client):
    response = auth_client.post(URL, valid_payload(tags=["ok", "x" * 51, "", "fine"]), format="json")
    body = assert_validation_problem(response, "tags.1")
    assert "tags.2" in body["errors"]
    assert "tags.0" not in body["errors"]


def test_activity_date_more_than_five_minutes_ahead_is_refused(auth_client):
    ahead = (timezone.now() + dt.timedelta(minutes=10)).isoformat()
    assert_validation_problem(auth_client.post(URL, valid_payload(activity_date=ahead), format="json"), "activity_date")
    soon = (timezone.now() + dt.timedelta(minutes=2)).isoformat()
    assert auth_client.post(URL, valid_payload(activity_date=soon), format="json").status_code == 201


def test_boundaries_are_accepted(auth_client):
    payload = valid_payload(duration_minutes=1440, distance_km=1000, calories_burned=20000, tags=["t" * 50] * 1)
    response = auth_client.post(URL, payload, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["distance_km"] == 1000
    response = auth_client.post(URL, valid_payload(duration_minutes=1, distance_km=0, calories_burned=0), format="json")
    assert response.status_code == 201
    assert response.json()["pace_min_per_km"] is None


def test_unknown_fields_are_ignored(auth_client):
    response = auth_client.post(URL, valid_payload(id=999, user=12, photo_count=7), format="json")
    assert response.status_code == 201
    assert response.json()["id"] != 999
    assert response.json()["photo_count"] == 0


def test_tags_are_per_user(auth_client, other_client, user, other_user):
    auth_client.post(URL, valid_payload(tags=["shared"]), format="json")
    other_client.post(URL, valid_payload(tags=["shared"]), format="json")
    assert Tag.objects.filter(name="shared").count() == 2
    assert Tag.objects.get(user=user, name="shared").activities.count() == 1


def test_requires_authentication(api_client, db):
    response = api_client.get(URL)
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM
    assert response["WWW-Authenticate"].startswith("Bearer")


# --- read -------------------------------------------------------------------------------------


def test_detail_and_another_users_activity_is_404(auth_client, user, other_user):
    mine = ActivityFactory(user=user, tags=["b", "a"])
    theirs = ActivityFactory(user=other_user)
    response = auth_client.get(f"{URL}/{mine.pk}")
    assert response.status_code == 200
    assert response.json()["tags"] == ["a", "b"]
    for pk in (theirs.pk, 999999):
        response = auth_client.get(f"{URL}/{pk}")
        assert response.status_code == 404
        assert response["Content-Type"] == PROBLEM
        assert response.json()["type"] == "https://activelog.dev/problems/not-found"


def test_non_integer_id_is_a_404_problem(auth_client):
    response = auth_client.get(f"{URL}/abc")
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM


# --- update -----------------------------------------------------------------------------------


def test_patch_updates_given_fields_and_replaces_tags(auth_client, user):
    activity = ActivityFactory(user=user, tags=["old", "keep"], duration_minutes=30, title="Before")
    response = auth_client.patch(f"{URL}/{activity.pk}", {"duration_minutes": 45, "tags": ["New"]}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["duration_minutes"] == 45
    assert body["title"] == "Before"
    assert body["tags"] == ["new"]
    activity.refresh_from_db()
    assert activity.duration_minutes == 45
    assert list(activity.tags.values_list("name", flat=True)) == ["new"]


def test_patch_without_tags_keeps_them_and_empty_list_clears(auth_client, user):
    activity = ActivityFactory(user=user, tags=["keep"])
    assert auth_client.patch(f"{URL}/{activity.pk}", {"title": "x"}, format="json").json()["tags"] == ["keep"]
    assert auth_client.patch(f"{URL}/{activity.pk}", {"tags": []}, format="json").json()["tags"] == []


def test_patch_validates_like_create(auth_client, user):
    activity = ActivityFactory(user=user)
    assert_validation_problem(auth_client.patch(f"{URL}/{activity.pk}", {"duration_minutes": 0}, format="json"),
                              "duration_minutes")
    assert_validation_problem(auth_client.patch(f"{URL}/{activity.pk}", {"activity_type": None}, format="json"),
                              "activity_type")


def test_patch_bumps_updated_at(auth_client, user):
    activity = ActivityFactory(user=user)
    before = activity.updated_at
    body = auth_client.patch(f"{URL}/{activity.pk}", {"notes": "later"}, format="json").json()
    assert body["updated_at"] > before.isoformat().replace("+00:00", "Z")


def test_put_requires_full_payload_and_resets_omitted_optionals(auth_client, user):
    activity = ActivityFactory(user=user, tags=["x"], notes="old notes", calories_burned=100)
    assert_validation_problem(auth_client.put(f"{URL}/{activity.pk}", {"title": "only"}, format="json"),
                              "duration_minutes")
    response = auth_client.put(
        f"{URL}/{activity.pk}",
        {"activity_type": "cycling", "duration_minutes": 60, "activity_date": "2026-02-01T10:00:00Z"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["activity_type"] == "cycling"
    assert body["notes"] == "" and body["calories_burned"] is None and body["tags"] == []


def test_cannot_update_or_delete_another_users_activity(auth_client, other_user):
    theirs = ActivityFactory(user=other_user, title="theirs")
    assert auth_client.patch(f"{URL}/{theirs.pk}", {"title": "mine"}, format="json").status_code == 404
    assert auth_client.put(f"{URL}/{theirs.pk}", valid_payload(), format="json").status_code == 404
    assert auth_client.delete(f"{URL}/{theirs.pk}").status_code == 404
    assert auth_client.post(f"{URL}/{theirs.pk}/restore").status_code == 404
    theirs.refresh_from_db()
    assert theirs.title == "theirs" and theirs.deleted_at is None


# --- delete and restore -----------------------------------------------------------------------


def test_soft_delete_hides_everywhere_and_restore_brings_back(auth_client, user):
    activity = ActivityFactory(user=user, tags=["t"])
    assert auth_client.delete(f"{URL}/{activity.pk}").status_code == 204
    activity.refresh_from_db()
    assert activity.deleted_at is not None
    assert auth_client.get(f"{URL}/{activity.pk}").status_code == 404
    assert auth_client.get(URL).json()["count"] == 0
    assert auth_client.get("/api/v1/tags").json() == [{"name": "t", "count": 0}]
    assert auth_client.delete(f"{URL}/{activity.pk}").status_code == 404
    assert auth_client.patch(f"{URL}/{activity.pk}", {"title": "x"}, format="json").status_code == 404

    deleted = auth_client.get(URL, {"include_deleted": "true"}).json()
    assert [a["id"] for a in deleted["results"]] == [activity.pk]

    response = auth_client.post(f"{URL}/{activity.pk}/restore")
    assert response.status_code == 200
    assert response.json()["id"] == activity.pk
    assert auth_client.get(f"{URL}/{activity.pk}").status_code == 200
    assert auth_client.get(URL, {"include_deleted": "true"}).json()["count"] == 0


def test_restore_of_live_missing_or_expired_activity_is_404(auth_client, user):
    live = ActivityFactory(user=user)
    assert auth_client.post(f"{URL}/{live.pk}/restore").status_code == 404
    assert auth_client.post(f"{URL}/424242/restore").status_code == 404
    expired = ActivityFactory(user=user, deleted_at=timezone.now() - dt.timedelta(days=31))
    response = auth_client.post(f"{URL}/{expired.pk}/restore")
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    assert auth_client.get(URL, {"include_deleted": "true"}).json()["count"] == 0


# --- tags endpoint ----------------------------------------------------------------------------


def test_tags_endpoint_counts_live_usage_most_used_first(auth_client, user, other_user):
    ActivityFactory(user=user, tags=["a", "b"])
    ActivityFactory(user=user, tags=["b"])
    ActivityFactory(user=user, tags=["b", "c"], deleted_at=timezone.now())
    ActivityFactory(user=other_user, tags=["a", "z"])
    TagFactory(user=user, name="unused")
    assert auth_client.get("/api/v1/tags").json() == [
        {"name": "b", "count": 2},
        {"name": "a", "count": 1},
        {"name": "c", "count": 0},
        {"name": "unused", "count": 0},
    ]


def test_oversized_body_is_a_413_problem(auth_client):
    body = '{"activity_type": "running", "notes": "' + "x" * 3_000_000 + '"}'
    response = auth_client.post(URL, data=body, content_type="application/json")
    assert response.status_code == 413
    assert response["Content-Type"] == PROBLEM
    assert response.json()["type"] == "https://activelog.dev/problems/payload-too-large"
    assert Activity.objects.count() == 0


def test_non_json_body_is_a_415_problem(auth_client):
    response = auth_client.post(URL, data="activity_type=running", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["type"] == "https://activelog.dev/problems/unsupported-media-type"


def test_browser_session_works_and_needs_csrf_for_writes(user):
    from django.middleware.csrf import _get_new_csrf_string
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    assert browser.get(URL).status_code == 200
    refused = browser.post(URL, valid_payload(), content_type="application/json")
    assert refused.status_code == 403
    assert refused["Content-Type"] == PROBLEM
    token = _get_new_csrf_string()
    browser.cookies["csrftoken"] = token
    accepted = browser.post(URL, valid_payload(), content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201, accepted.content


@pytest.mark.parametrize(("field", "value"), [("activity_type", 12), ("title", 5), ("notes", True), ("tags", [0])])
def test_a_number_where_text_belongs_is_refused(auth_client, field, value):
    """DRF's CharField would store the digits (found by schemathesis: "tags": [0] saved a tag "0")."""
    payload = {"activity_type": "running", "duration_minutes": 30, "activity_date": "2026-01-01T07:00:00Z",
               field: value}
    response = auth_client.post("/api/v1/activities", payload, format="json")
    assert response.status_code == 400
    assert any(key.startswith(field) for key in response.json()["errors"])
    assert not Activity.objects.exists()

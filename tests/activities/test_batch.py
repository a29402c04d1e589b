"""Batch create (201 / 207 per item) and batch delete."""

import pytest
from django.utils import timezone

from activities.models import Activity
from tests.support.factories import ActivityFactory

URL = "/api/v1/activities/batch"


def item(**overrides):
    data = {"activity_type": "running", "duration_minutes": 30, "activity_date": "2026-03-01T07:00:00Z"}
    data.update(overrides)
    return data


def test_all_valid_items_are_created_with_201(auth_client, user):
    response = auth_client.post(URL, {"activities": [item(title=f"n{i}", tags=["b"]) for i in range(3)]},
                                format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["created"] == 3 and body["failed"] == 0
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    assert all(r["status"] == 201 for r in body["results"])
    assert [r["activity"]["title"] for r in body["results"]] == ["n0", "n1", "n2"]
    assert body["results"][0]["activity"]["tags"] == ["b"]
    assert Activity.objects.filter(user=user).count() == 3


def test_mixed_batch_is_207_and_keeps_valid_items(auth_client, user):
    payload = {"activities": [
        item(title="ok-0"),
        item(duration_minutes=0),
        "not an object",
        item(title="ok-3", tags=["fine", "x" * 51]),
        item(title="ok-4"),
    ]}
    response = auth_client.post(URL, payload, format="json")
    assert response.status_code == 207, response.content
    body = response.json()
    assert (body["created"], body["failed"]) == (2, 3)
    statuses = [(r["index"], r["status"]) for r in body["results"]]
    assert statuses == [(0, 201), (1, 400), (2, 400), (3, 400), (4, 201)]
    assert "duration_minutes" in body["results"][1]["errors"]
    assert "non_field_errors" in body["results"][2]["errors"]
    assert "tags.1" in body["results"][3]["errors"]
    assert "activity" not in body["results"][1]
    assert sorted(Activity.objects.filter(user=user).values_list("title", flat=True)) == ["ok-0", "ok-4"]


def test_all_invalid_is_still_207(auth_client, user):
    response = auth_client.post(URL, {"activities": [item(duration_minutes=-1)]}, format="json")
    assert response.status_code == 207
    assert response.json()["created"] == 0
    assert Activity.objects.count() == 0


@pytest.mark.parametrize("payload", [{}, {"activities": []}, {"activities": "x"},
                                     {"activities": [item()] * 51}])
def test_batch_envelope_is_validated(auth_client, payload):
    response = auth_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert "activities" in response.json()["errors"]
    assert Activity.objects.count() == 0


def test_fifty_items_are_allowed(auth_client, user):
    response = auth_client.post(URL, {"activities": [item() for _ in range(50)]}, format="json")
    assert response.status_code == 201
    assert Activity.objects.filter(user=user).count() == 50


def test_batch_delete_reports_not_found_ids(auth_client, user, other_user):
    mine = ActivityFactory.create_batch(3, user=user)
    theirs = ActivityFactory(user=other_user)
    already = ActivityFactory(user=user, deleted_at=timezone.now())
    ids = [mine[0].pk, mine[1].pk, theirs.pk, already.pk, 987654, mine[0].pk]
    response = auth_client.delete(URL, {"ids": ids}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"deleted": 2, "not_found": [theirs.pk, already.pk, 987654]}
    assert Activity.objects.filter(user=user).alive().count() == 1
    theirs.refresh_from_db()
    assert theirs.deleted_at is None


@pytest.mark.parametrize("payload", [{}, {"ids": []}, {"ids": ["a"]}, {"ids": [0]}, {"ids": list(range(1, 52))}])
def test_batch_delete_validates_ids(auth_client, payload):
    response = auth_client.delete(URL, payload, format="json")
    assert response.status_code == 400
    assert any(key.startswith("ids") for key in response.json()["errors"])

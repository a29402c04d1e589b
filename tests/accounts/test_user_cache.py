"""The user behind a token or a session comes from the shared cache (accounts/user_cache.py), yet
every change that matters applies to the very next request."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.support.api import ME, assert_problem, bearer_client
from tests.support.factories import ActivityFactory

User = get_user_model()
SUMMARY = "/api/v1/users/me/summary"


def me(client):
    """GET /users/me: (status, statements it ran)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(ME)
    return response.status_code, len(captured.captured_queries)


def test_the_second_request_reads_the_user_from_the_cache(user):
    api = bearer_client(user)
    assert me(api) == (200, 1)
    assert me(api) == (200, 0)


def test_without_the_cache_every_request_reads_the_user(user, settings):
    settings.AUTH_USER_CACHE_SECONDS = 0
    api = bearer_client(user)
    assert me(api) == (200, 1)
    assert me(api) == (200, 1)


def test_a_new_password_refuses_the_old_token_at_once(user):
    api = bearer_client(user)
    assert me(api) == (200, 1)  # cached from here on
    user.set_password("changed-by-a-reset-link-66")
    user.save()
    assert_problem(api.get(ME), 401, "not-authenticated")


@pytest.mark.parametrize("how", ["save", "bulk update"])
def test_a_deactivated_account_is_refused_at_once(user, how):
    api = bearer_client(user)
    assert me(api) == (200, 1)
    if how == "save":
        user.is_active = False
        user.save()
    else:  # what an admin action or a shell does: no save(), no signal
        assert User.objects.filter(pk=user.pk).update(is_active=False) == 1
    assert_problem(api.get(ME), 401, "not-authenticated")


def test_a_deleted_account_is_refused_at_once(user):
    api = bearer_client(user)
    assert me(api) == (200, 1)
    user.delete()
    assert_problem(api.get(ME), 401, "not-authenticated")


def test_a_profile_change_shows_in_the_next_response(user):
    api = bearer_client(user)
    assert me(api) == (200, 1)
    assert api.patch(ME, {"timezone": "Asia/Tokyo"}, format="json").status_code == 200
    assert api.get(ME).json()["timezone"] == "Asia/Tokyo"


def test_a_browser_session_of_a_deactivated_account_ends_at_once(user, client):
    client.force_login(user)
    assert client.get("/dashboard").status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/dashboard").status_code == 200
    assert not [q for q in captured.captured_queries if '"accounts_user"' in q["sql"].split("WHERE")[0]]
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = client.get("/dashboard")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login")


def test_cached_statistics_follow_a_write_while_the_user_is_cached(user):
    api = bearer_client(user)
    ActivityFactory(user=user)
    first, second = api.get(SUMMARY), api.get(SUMMARY)
    assert (first["X-Cache"], second["X-Cache"], second.json()["total_activities"]) == ("MISS", "HIT", 1)
    created = api.post("/api/v1/activities", {"activity_type": "running", "duration_minutes": 30,
                                              "activity_date": "2026-03-01T07:00:00Z"}, format="json")
    assert created.status_code == 201
    after = api.get(SUMMARY)
    assert (after["X-Cache"], after.json()["total_activities"]) == ("MISS", 2)

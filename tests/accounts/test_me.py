"""/users/me: read, update, change password, delete the account."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import User
from activities.models import Activity, Photo, Tag
from tests.support.api import (
    LOGIN,
    ME,
    PASSWORD,
    REFRESH,
    USER_FIELDS,
    assert_problem,
    assert_validation_error,
    bearer,
    bearer_client,
)
from tests.support.factories import DEFAULT_PASSWORD, ActivityFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "fresh-Meadow-Path-31"


def login(email, password, client=None):
    return (client or APIClient()).post(LOGIN, {"email": email, "password": password}, format="json")


# --- GET ----------------------------------------------------------------------------------------


def test_me_returns_the_caller(auth_client, user):
    response = auth_client.get(ME)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["id"] == user.pk
    assert body["username"] == user.username
    assert body["email"] == user.email
    assert body["timezone"] == "UTC"
    assert body["units"] == "metric"
    assert body["date_joined"]


def test_me_each_user_sees_themselves(auth_client, other_client, user, other_user):
    assert auth_client.get(ME).json()["id"] == user.pk
    assert other_client.get(ME).json()["id"] == other_user.pk


def test_me_requires_authentication(api_client):
    assert_problem(api_client.get(ME), 401, "not-authenticated")


@pytest.mark.parametrize("header", ["Bearer", "Bearer garbage", "Token abc", "Basic dXNlcjpwYXNz"])
def test_me_with_bad_authorization_header(api_client, db, header):
    api_client.credentials(HTTP_AUTHORIZATION=header)

    response = api_client.get(ME)

    assert_problem(response, 401, "not-authenticated")


def test_me_with_session(user):
    client = APIClient()
    client.force_login(user)

    assert client.get(ME).json()["id"] == user.pk


# --- PATCH --------------------------------------------------------------------------------------


def test_patch_updates_preferences(auth_client, user):
    response = auth_client.patch(
        ME, {"email": "New.Address@Example.com", "timezone": "Europe/Paris", "units": "imperial"}, format="json"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "new.address@example.com"
    assert body["timezone"] == "Europe/Paris"
    assert body["units"] == "imperial"
    assert set(body) == USER_FIELDS
    user.refresh_from_db()
    assert (user.email, user.timezone, user.units) == ("new.address@example.com", "Europe/Paris", "imperial")
    assert auth_client.get(ME).json() == body


def test_patch_is_partial(auth_client, user):
    response = auth_client.patch(ME, {"units": "imperial"}, format="json")

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.units == "imperial"
    assert user.timezone == "UTC"
    assert user.email == response.json()["email"]


def test_patch_empty_body_changes_nothing(auth_client, user):
    before = auth_client.get(ME).json()

    response = auth_client.patch(ME, {}, format="json")

    assert response.status_code == 200
    assert response.json() == before


def test_patch_email_must_be_unique_ignoring_case(auth_client, user, other_user):
    response = auth_client.patch(ME, {"email": other_user.email.upper()}, format="json")

    assert_validation_error(response, "email")
    user.refresh_from_db()
    assert user.email != other_user.email


def test_patch_email_to_own_address_in_other_case(auth_client, user):
    response = auth_client.patch(ME, {"email": user.email.upper()}, format="json")

    assert response.status_code == 200
    assert response.json()["email"] == user.email


def test_patch_new_email_is_used_for_login(auth_client, user):
    auth_client.patch(ME, {"email": "Moved@Example.com"}, format="json")

    assert login("moved@example.com", DEFAULT_PASSWORD).status_code == 200


@pytest.mark.parametrize("email", ["not-an-email", "", "a@", None])
def test_patch_invalid_email(auth_client, user, email):
    response = auth_client.patch(ME, {"email": email}, format="json")

    assert_validation_error(response, "email")
    user.refresh_from_db()
    assert user.email.endswith("@example.com")


@pytest.mark.parametrize("timezone", ["Europe/Paris", "America/New_York", "Asia/Kolkata", "UTC", "Pacific/Chatham"])
def test_patch_accepts_iana_timezones(auth_client, user, timezone):
    response = auth_client.patch(ME, {"timezone": timezone}, format="json")

    assert response.status_code == 200
    assert response.json()["timezone"] == timezone
    user.refresh_from_db()
    assert user.timezone == timezone


@pytest.mark.parametrize("timezone", ["Mars/Base", "europe/paris", "", "+02:00", "Europe/Paris/", "x" * 100, 5, None])
def test_patch_rejects_non_iana_timezones(auth_client, user, timezone):
    response = auth_client.patch(ME, {"timezone": timezone}, format="json")

    assert_validation_error(response, "timezone")
    user.refresh_from_db()
    assert user.timezone == "UTC"


def test_patch_timezone_surrounding_whitespace_is_trimmed(auth_client, user):
    response = auth_client.patch(ME, {"timezone": " Europe/Paris "}, format="json")

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.timezone == "Europe/Paris"


@pytest.mark.parametrize("units", ["metric", "imperial"])
def test_patch_accepts_units(auth_client, user, units):
    response = auth_client.patch(ME, {"units": units}, format="json")

    assert response.status_code == 200
    assert response.json()["units"] == units


@pytest.mark.parametrize("units", ["kelvin", "Metric", "", None, "miles"])
def test_patch_rejects_other_units(auth_client, user, units):
    response = auth_client.patch(ME, {"units": units}, format="json")

    assert_validation_error(response, "units")
    user.refresh_from_db()
    assert user.units == "metric"


def test_patch_one_invalid_field_changes_nothing(auth_client, user):
    response = auth_client.patch(ME, {"units": "imperial", "timezone": "Mars/Base"}, format="json")

    assert_validation_error(response, "timezone")
    user.refresh_from_db()
    assert user.units == "metric"


def test_patch_ignores_unknown_and_protected_fields(auth_client, user):
    original_username = user.username
    response = auth_client.patch(
        ME,
        {
            "username": "hijacked",
            "id": 999999,
            "is_staff": True,
            "is_superuser": True,
            "date_joined": "2000-01-01T00:00:00Z",
            "password": "whatever-123456",
            "favourite_colour": "blue",
            "units": "imperial",
        },
        format="json",
    )

    assert response.status_code == 200
    body = response.json()
    assert body["username"] == original_username
    assert body["id"] == user.pk
    assert body["units"] == "imperial"
    user.refresh_from_db()
    assert user.username == original_username
    assert not user.is_staff and not user.is_superuser
    assert user.check_password(DEFAULT_PASSWORD)
    assert user.date_joined.year != 2000


def test_patch_requires_authentication(api_client, user):
    assert_problem(api_client.patch(ME, {"units": "imperial"}, format="json"), 401, "not-authenticated")


def test_patch_via_session_requires_csrf(user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.patch(ME, {"units": "imperial"}, format="json")

    assert_problem(response, 403, "permission-denied")
    user.refresh_from_db()
    assert user.units == "metric"


# --- Password change ----------------------------------------------------------------------------


def change_password(client, current, new):
    return client.post(PASSWORD, {"current_password": current, "new_password": new}, format="json")


def test_password_change_wrong_current(auth_client, user):
    response = change_password(auth_client, "not-my-password-9", NEW_PASSWORD)

    body = assert_validation_error(response, "current_password")
    assert "new_password" not in body["errors"]
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


@pytest.mark.parametrize("weak", ["short1", "password123", "1234567890", "USERNAME-SLOT"])
def test_password_change_weak_new(auth_client, user, weak):
    weak = weak.replace("USERNAME-SLOT", user.username + "1")

    response = change_password(auth_client, DEFAULT_PASSWORD, weak)

    body = assert_validation_error(response, "new_password")
    assert "non_field_errors" not in body["errors"]
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


@pytest.mark.parametrize("missing", ["current_password", "new_password"])
def test_password_change_missing_field(auth_client, missing):
    payload = {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    del payload[missing]

    assert_validation_error(auth_client.post(PASSWORD, payload, format="json"), missing)


def test_password_change_requires_authentication(api_client, user):
    response = change_password(api_client, DEFAULT_PASSWORD, NEW_PASSWORD)

    assert_problem(response, 401, "not-authenticated")
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_password_change_success_revokes_tokens(user):
    pair = login(user.email, DEFAULT_PASSWORD).json()
    client = bearer(pair["access"])
    other_session = bearer_client(user)
    assert other_session.get(ME).status_code == 200

    response = change_password(client, DEFAULT_PASSWORD, NEW_PASSWORD)

    assert response.status_code == 204
    assert response.content == b""
    # The access token used for the change, and any other issued before it, are rejected.
    assert_problem(client.get(ME), 401, "not-authenticated")
    assert_problem(other_session.get(ME), 401, "not-authenticated")
    assert_problem(APIClient().post(REFRESH, {"refresh": pair["refresh"]}, format="json"), 401, "not-authenticated")
    # The old password no longer signs in; the new one does and its token works.
    assert_problem(login(user.email, DEFAULT_PASSWORD), 401, "not-authenticated")
    fresh = login(user.email, NEW_PASSWORD)
    assert fresh.status_code == 200
    assert bearer(fresh.json()["access"]).get(ME).status_code == 200


def test_password_change_leaves_other_users_alone(auth_client, other_client, other_user):
    assert change_password(auth_client, DEFAULT_PASSWORD, NEW_PASSWORD).status_code == 204

    assert other_client.get(ME).status_code == 200
    other_user.refresh_from_db()
    assert other_user.check_password(DEFAULT_PASSWORD)


# --- Delete -------------------------------------------------------------------------------------


def test_delete_with_wrong_password(auth_client, user):
    response = auth_client.delete(ME, {"password": "not-my-password-9"}, format="json")

    assert_validation_error(response, "password")
    assert User.objects.filter(pk=user.pk).exists()
    assert auth_client.get(ME).status_code == 200


def test_delete_without_password(auth_client, user):
    response = auth_client.delete(ME, format="json")

    assert_validation_error(response, "password")
    assert User.objects.filter(pk=user.pk).exists()


def test_delete_requires_authentication(api_client, user):
    assert_problem(api_client.delete(ME, {"password": DEFAULT_PASSWORD}, format="json"), 401, "not-authenticated")
    assert User.objects.filter(pk=user.pk).exists()


def test_delete_removes_the_account_and_all_its_data(user, other_user, other_client):
    pair = login(user.email, DEFAULT_PASSWORD).json()
    client = bearer(pair["access"])
    mine = [ActivityFactory(user=user, tags=["morning", "outdoor"]) for _ in range(3)]
    theirs = ActivityFactory(user=other_user, tags=["morning"])

    response = client.delete(ME, {"password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 204
    assert response.content == b""
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Activity.objects.filter(pk__in=[a.pk for a in mine]).exists()
    assert not Tag.objects.filter(user_id=user.pk).exists()
    # Every token of the account is dead.
    assert_problem(client.get(ME), 401, "not-authenticated")
    assert_problem(APIClient().post(REFRESH, {"refresh": pair["refresh"]}, format="json"), 401, "not-authenticated")
    assert_problem(login(user.email, DEFAULT_PASSWORD), 401, "not-authenticated")
    # Nobody else is touched.
    assert Activity.objects.filter(pk=theirs.pk).exists()
    assert list(theirs.tags.values_list("name", flat=True)) == ["morning"]
    assert other_client.get(ME).json()["id"] == other_user.pk


def test_deleted_accounts_username_and_email_can_be_registered_again(user):
    client = bearer_client(user)
    assert client.delete(ME, {"password": DEFAULT_PASSWORD}, format="json").status_code == 204

    response = APIClient().post(
        "/api/v1/auth/register",
        {"username": user.username.upper(), "email": user.email, "password": NEW_PASSWORD},
        format="json",
    )

    assert response.status_code == 201


def test_delete_revokes_refresh_tokens(user):
    pairs = [login(user.email, DEFAULT_PASSWORD).json() for _ in range(2)]

    bearer(pairs[0]["access"]).delete(ME, {"password": DEFAULT_PASSWORD}, format="json")

    for pair in pairs:
        assert_problem(APIClient().post(REFRESH, {"refresh": pair["refresh"]}, format="json"), 401, "not-authenticated")
    assert OutstandingToken.objects.filter(user_id=user.pk).count() == 0


def test_other_users_delete_does_not_touch_me(auth_client, user, other_client, other_user):
    ActivityFactory(user=user)

    assert other_client.delete(ME, {"password": DEFAULT_PASSWORD}, format="json").status_code == 204

    assert auth_client.get(ME).status_code == 200
    assert Activity.objects.filter(user=user).count() == 1
    assert User.objects.filter(pk=user.pk).exists()


def test_delete_removes_stored_photo_files(user, other_user, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = str(tmp_path)

    def photo_for(owner):
        photo = Photo(
            activity=ActivityFactory(user=owner), content_type="image/png", file_size=3, width=1, height=1
        )
        photo.image.save("full.png", ContentFile(b"png"), save=False)
        photo.thumbnail.save("thumb.png", ContentFile(b"png"), save=False)
        photo.save()
        return photo

    mine, theirs = photo_for(user), photo_for(other_user)
    my_files = [mine.image.name, mine.thumbnail.name]
    their_files = [theirs.image.name, theirs.thumbnail.name]
    assert all(default_storage.exists(name) for name in my_files + their_files)

    with django_capture_on_commit_callbacks(execute=True):
        response = bearer_client(user).delete(ME, {"password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 204
    assert not Photo.objects.filter(pk=mine.pk).exists()
    assert not any(default_storage.exists(name) for name in my_files)
    assert all(default_storage.exists(name) for name in their_files)
    assert Photo.objects.filter(pk=theirs.pk).exists()

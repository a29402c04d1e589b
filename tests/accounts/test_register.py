import datetime as dt

import pytest

from accounts.models import User
from tests.support.api import ME, REGISTER, USER_FIELDS, assert_validation_error, bearer
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "sturdy-Lantern-42"


def register(client, **overrides):
    payload = {"username": "runner_1", "email": "runner@example.com", "password": GOOD_PASSWORD}
    payload.update(overrides)
    return client.post(REGISTER, {k: v for k, v in payload.items() if v is not None}, format="json")


def test_register_returns_user_and_token_pair(api_client):
    response = register(api_client)

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"user", "access", "refresh"}
    assert set(body["user"]) == USER_FIELDS
    user = User.objects.get(username="runner_1")
    assert body["user"]["id"] == user.pk
    assert body["user"]["username"] == "runner_1"
    assert body["user"]["email"] == "runner@example.com"
    assert body["user"]["timezone"] == "UTC"
    assert body["user"]["units"] == "metric"
    joined = dt.datetime.fromisoformat(body["user"]["date_joined"].replace("Z", "+00:00"))
    assert joined.tzinfo is not None
    assert "password" not in body["user"]
    assert user.check_password(GOOD_PASSWORD)
    assert isinstance(body["access"], str) and body["access"].count(".") == 2
    assert isinstance(body["refresh"], str) and body["refresh"].count(".") == 2
    assert body["access"] != body["refresh"]


def test_register_access_token_works_on_me(api_client):
    body = register(api_client).json()

    response = bearer(body["access"]).get(ME)

    assert response.status_code == 200
    assert response.json() == body["user"]


def test_register_stores_email_lower_cased(api_client):
    response = register(api_client, email="  Mixed.Case@Example.COM ")

    assert response.status_code == 201
    assert response.json()["user"]["email"] == "mixed.case@example.com"
    assert User.objects.get(username="runner_1").email == "mixed.case@example.com"


@pytest.mark.parametrize("username", ["abc", "a" * 30, "A.b-c_9", "123", "x.y"])
def test_register_accepts_valid_usernames(api_client, username):
    response = register(api_client, username=username)

    assert response.status_code == 201, response.json()
    assert response.json()["user"]["username"] == username


@pytest.mark.parametrize(
    "username",
    [
        "ab",  # too short
        "a" * 31,  # too long
        "with space",
        "bad!char",
        "émile",  # letters are ASCII only
        "semi;colon",
        "at@sign",
        "slash/name",
        "",
    ],
)
def test_register_rejects_bad_usernames(api_client, username):
    response = register(api_client, username=username)

    assert_validation_error(response, "username")
    assert not User.objects.exists()


def test_register_rejects_username_differing_only_in_case(api_client):
    UserFactory(username="Runner_1", email="first@example.com")

    response = register(api_client, username="rUNNER_1", email="second@example.com")

    body = assert_validation_error(response, "username")
    assert "email" not in body["errors"]
    assert User.objects.filter(username__iexact="runner_1").count() == 1


def test_register_rejects_email_differing_only_in_case(api_client):
    assert register(api_client, username="first", email="Taken@Example.com").status_code == 201

    response = register(api_client, username="second", email="TAKEN@example.COM")

    body = assert_validation_error(response, "email")
    assert "username" not in body["errors"]
    assert not User.objects.filter(username="second").exists()


def test_register_duplicate_username_and_email_reports_both(api_client):
    UserFactory(username="twin", email="twin@example.com")

    response = register(api_client, username="TWIN", email="Twin@example.com")

    assert_validation_error(response, "username", "email")


@pytest.mark.parametrize("email", ["not-an-email", "a@", "@example.com", "a b@example.com", "a@b@c.com"])
def test_register_rejects_invalid_email(api_client, email):
    response = register(api_client, email=email)

    assert_validation_error(response, "email")
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("Ab3$x", "too short"),
        ("password123", "too common"),
        ("8203947561", "all digits"),
        ("runner_1x", "too similar to the username"),
    ],
)
def test_register_rejects_weak_passwords(api_client, password, why):
    response = register(api_client, username="runner_1", email="someone@example.org", password=password)

    body = assert_validation_error(response, "password")
    assert "non_field_errors" not in body["errors"], why
    assert not User.objects.exists()


def test_register_rejects_password_too_similar_to_email(api_client):
    response = register(api_client, username="zed", email="marathoner@example.com", password="marathoner")

    assert_validation_error(response, "password")


def test_register_password_errors_list_every_failed_rule(api_client):
    response = register(api_client, password="1234")

    body = assert_validation_error(response, "password")
    assert len(body["errors"]["password"]) >= 2  # too short and all digits


@pytest.mark.parametrize("missing", ["username", "email", "password"])
def test_register_missing_field(api_client, missing):
    response = register(api_client, **{missing: None})

    body = assert_validation_error(response, missing)
    assert set(body["errors"]) == {missing}
    assert not User.objects.exists()


def test_register_empty_body_names_every_field(api_client):
    response = api_client.post(REGISTER, {}, format="json")

    assert_validation_error(response, "username", "email", "password")


def test_register_ignores_unknown_and_privileged_fields(api_client):
    response = register(api_client, is_staff=True, is_superuser=True, units="imperial", favourite="tea")

    assert response.status_code == 201
    user = User.objects.get(username="runner_1")
    assert not user.is_staff
    assert not user.is_superuser
    assert user.units == "metric"


def test_register_does_not_need_or_use_authentication(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    response = register(api_client)

    assert response.status_code == 201


def test_register_new_user_can_log_in(api_client):
    register(api_client, email="Login.Me@example.com")

    response = api_client.post(
        "/api/v1/auth/login", {"email": "login.me@example.com", "password": GOOD_PASSWORD}, format="json"
    )

    assert response.status_code == 200


def test_register_reports_uniqueness_and_password_problems_together(api_client):
    UserFactory(username="taken", email="taken@example.com")

    response = register(api_client, username="Taken", email="TAKEN@example.com", password="password123")

    assert_validation_error(response, "username", "email", "password")

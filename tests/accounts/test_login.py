import pytest
from django.utils import timezone

from tests.support.api import LOGIN, ME, USER_FIELDS, assert_problem, assert_validation_error, bearer
from tests.support.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def runner(db):
    return UserFactory(username="Trail.Runner", email="trail.runner@example.com")


def login(client, **payload):
    return client.post(LOGIN, payload, format="json")


def test_login_with_email_returns_tokens_and_user(api_client, runner):
    response = login(api_client, email="trail.runner@example.com", password=DEFAULT_PASSWORD)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh", "user"}
    assert set(body["user"]) == USER_FIELDS
    assert body["user"]["id"] == runner.pk
    assert body["user"]["username"] == "Trail.Runner"
    me = bearer(body["access"]).get(ME)
    assert me.status_code == 200
    assert me.json()["id"] == runner.pk


@pytest.mark.parametrize(
    "email", ["TRAIL.RUNNER@EXAMPLE.COM", "Trail.Runner@Example.com", " trail.runner@example.com "]
)
def test_login_email_is_case_insensitive(api_client, runner, email):
    response = login(api_client, email=email, password=DEFAULT_PASSWORD)

    assert response.status_code == 200
    assert response.json()["user"]["id"] == runner.pk


@pytest.mark.parametrize("username", ["Trail.Runner", "trail.runner", "TRAIL.RUNNER"])
def test_login_with_username_is_case_insensitive(api_client, runner, username):
    response = login(api_client, username=username, password=DEFAULT_PASSWORD)

    assert response.status_code == 200
    assert response.json()["user"]["id"] == runner.pk


def test_login_updates_last_login(api_client, runner):
    before = timezone.now()

    login(api_client, email=runner.email, password=DEFAULT_PASSWORD)

    runner.refresh_from_db()
    assert runner.last_login is not None and runner.last_login >= before


def test_login_wrong_password_and_unknown_account_are_indistinguishable(api_client, runner):
    wrong_password = login(api_client, email=runner.email, password="not-the-password-1")
    unknown_email = login(api_client, email="nobody@example.com", password=DEFAULT_PASSWORD)
    unknown_username = login(api_client, username="nobody", password=DEFAULT_PASSWORD)
    wrong_password_by_username = login(api_client, username=runner.username, password="not-the-password-1")

    bodies = [
        assert_problem(r, 401, "not-authenticated")
        for r in (wrong_password, unknown_email, unknown_username, wrong_password_by_username)
    ]
    shapes = {(b["type"], b["title"], b["detail"]) for b in bodies}
    assert len(shapes) == 1
    assert "invalid credentials" in bodies[0]["detail"].lower()
    headers = {r["WWW-Authenticate"] for r in (wrong_password, unknown_email, unknown_username)}
    assert len(headers) == 1
    assert headers.pop().startswith("Bearer")


def test_login_without_email_or_username_is_400(api_client, runner):
    response = login(api_client, password=DEFAULT_PASSWORD)

    assert_validation_error(response, "email")


def test_login_without_password_is_400(api_client, runner):
    response = login(api_client, email=runner.email)

    assert_validation_error(response, "password")


def test_login_empty_body_is_400(api_client):
    response = api_client.post(LOGIN, {}, format="json")

    assert_validation_error(response, "password")


def test_login_inactive_user_is_401_like_wrong_credentials(api_client, runner):
    runner.is_active = False
    runner.save()

    inactive = login(api_client, email=runner.email, password=DEFAULT_PASSWORD)
    unknown = login(api_client, email="nobody@example.com", password=DEFAULT_PASSWORD)

    inactive_body = assert_problem(inactive, 401, "not-authenticated")
    unknown_body = assert_problem(unknown, 401, "not-authenticated")
    assert inactive_body["detail"] == unknown_body["detail"]
    assert "access" not in inactive_body


def test_login_email_takes_precedence_over_username(api_client, runner):
    other = UserFactory(username="someone-else")

    response = login(api_client, email=runner.email, username=other.username, password=DEFAULT_PASSWORD)

    assert response.status_code == 200
    assert response.json()["user"]["id"] == runner.pk


def test_login_ignores_a_bearer_header(api_client, runner):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer garbage")

    response = login(api_client, email=runner.email, password=DEFAULT_PASSWORD)

    assert response.status_code == 200


def test_login_tokens_are_fresh_each_time(api_client, runner):
    first = login(api_client, email=runner.email, password=DEFAULT_PASSWORD).json()
    second = login(api_client, email=runner.email, password=DEFAULT_PASSWORD).json()

    assert first["refresh"] != second["refresh"]
    assert first["access"] != second["access"]


def test_an_old_pbkdf2_password_still_signs_in_and_is_stored_as_argon2id_afterwards(api_client, settings):
    """The production hashers (the suite itself uses a fast one): Argon2id first."""
    from django.conf import settings as live
    from django.contrib.auth.hashers import make_password

    from activelog.settings import api as api_settings

    settings.PASSWORD_HASHERS = api_settings.PASSWORD_HASHERS
    assert live.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    user = UserFactory()
    user.password = make_password(DEFAULT_PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])

    response = api_client.post(LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")

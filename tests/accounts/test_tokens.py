"""Refresh-token rotation and logout."""

import threading
import time

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from tests.support.api import LOGIN, LOGOUT, ME, PASSWORD, REFRESH, assert_problem, assert_validation_error, bearer
from tests.support.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def login_pair(user) -> dict:
    response = APIClient().post(LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 200
    return response.json()


def refresh(token, client=None):
    return (client or APIClient()).post(REFRESH, {"refresh": token}, format="json")


# --- Refresh ----------------------------------------------------------------------------------


def test_refresh_returns_a_new_working_pair(user):
    pair = login_pair(user)

    response = refresh(pair["refresh"])

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert body["refresh"] != pair["refresh"]
    assert body["access"] != pair["access"]
    me = bearer(body["access"]).get(ME)
    assert me.status_code == 200
    assert me.json()["id"] == user.pk


def test_refresh_rotates_the_old_refresh_token_stops_working(user):
    pair = login_pair(user)
    rotated = refresh(pair["refresh"]).json()

    replay = refresh(pair["refresh"])

    assert_problem(replay, 401, "not-authenticated")
    # The new one keeps working (and rotates in turn).
    assert refresh(rotated["refresh"]).status_code == 200


def test_refresh_chain_of_rotations(user):
    token = login_pair(user)["refresh"]
    for _ in range(3):
        response = refresh(token)
        assert response.status_code == 200
        token = response.json()["refresh"]


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "", " "])
def test_refresh_with_garbage_token(db, garbage):
    response = refresh(garbage)

    if garbage.strip():
        assert_problem(response, 401, "not-authenticated")
    else:
        assert_validation_error(response, "refresh")


def test_refresh_without_token_is_400(db):
    response = APIClient().post(REFRESH, {}, format="json")

    assert_validation_error(response, "refresh")


def test_refresh_with_tampered_token(user):
    token = login_pair(user)["refresh"]
    header, payload, signature = token.split(".")
    tampered = ".".join([header, payload, signature[:-4] + ("AAAA" if not signature.endswith("AAAA") else "BBBB")])

    assert_problem(refresh(tampered), 401, "not-authenticated")


def test_refresh_with_access_token_is_401(user):
    pair = login_pair(user)

    response = refresh(pair["access"])

    assert_problem(response, 401, "not-authenticated")


def test_refresh_token_is_not_an_access_token(user):
    pair = login_pair(user)

    response = bearer(pair["refresh"]).get(ME)

    assert_problem(response, 401, "not-authenticated")


def test_refresh_after_password_change_is_401(user):
    pair = login_pair(user)
    change = bearer(pair["access"]).post(
        PASSWORD, {"current_password": DEFAULT_PASSWORD, "new_password": "a-brand-new-Secret-77"}, format="json"
    )
    assert change.status_code == 204

    assert_problem(refresh(pair["refresh"]), 401, "not-authenticated")


def test_refresh_after_password_set_elsewhere_is_401(user):
    """Even a refresh token nobody blacklisted dies with the password it was issued under."""
    pair = login_pair(user)
    user.set_password("changed-in-the-admin-55")
    user.save()

    assert_problem(refresh(pair["refresh"]), 401, "not-authenticated")


def test_tokens_say_nothing_about_the_password(user):
    """simplejwt's revocation claim is an MD5 of the password hash, readable by any token holder;
    ours is keyed with the signing key."""
    import hashlib

    from rest_framework_simplejwt.tokens import AccessToken

    pair = login_pair(user)
    for token in (AccessToken(pair["access"]), RefreshToken(pair["refresh"])):
        payload = token.payload
        assert "hash_password" not in payload
        assert payload["pwv"] and payload["pwv"] not in user.password
        assert payload["pwv"] != hashlib.md5(user.password.encode()).hexdigest()


def test_an_access_token_dies_with_the_password_it_was_issued_under(user):
    pair = login_pair(user)
    assert bearer(pair["access"]).get(ME).status_code == 200
    user.set_password("changed-by-a-reset-link-66")  # the browser's reset, the admin, a shell
    user.save()

    assert_problem(bearer(pair["access"]).get(ME), 401, "not-authenticated")


def test_a_token_without_the_password_claim_is_refused(user):
    token = RefreshToken.for_user(user)  # a well-signed token missing the claim
    assert_problem(bearer(str(token.access_token)).get(ME), 401, "not-authenticated")


def test_refresh_for_deleted_account_is_401(user):
    pair = login_pair(user)
    User.objects.filter(pk=user.pk).delete()  # e.g. removed by an admin, tokens not revoked

    assert_problem(refresh(pair["refresh"]), 401, "not-authenticated")


def test_refresh_for_deleted_account_via_api_is_401(user):
    pair = login_pair(user)
    deleted = bearer(pair["access"]).delete(ME, {"password": DEFAULT_PASSWORD}, format="json")
    assert deleted.status_code == 204

    assert_problem(refresh(pair["refresh"]), 401, "not-authenticated")


def test_refresh_for_inactive_account_is_401(user):
    pair = login_pair(user)
    user.is_active = False
    user.save()

    assert_problem(refresh(pair["refresh"]), 401, "not-authenticated")


def test_refresh_token_not_recorded_as_outstanding_is_401(user):
    """A validly signed token the server never handed out is not accepted."""
    token = RefreshToken.for_user(user)
    OutstandingToken.objects.filter(jti=token["jti"]).delete()

    assert_problem(refresh(str(token)), 401, "not-authenticated")


def test_refresh_ignores_a_bad_bearer_header(user):
    pair = login_pair(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer nonsense")

    assert refresh(pair["refresh"], client).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_with_one_token_only_one_wins(monkeypatch):
    import accounts.services

    real_check = accounts.services.issued_under_current_password

    def slow_check(token, user):  # widens the window between "is it blacklisted?" and "blacklist it"
        time.sleep(0.2)
        return real_check(token, user)

    monkeypatch.setattr(accounts.services, "issued_under_current_password", slow_check)
    user = UserFactory()
    token = login_pair(user)["refresh"]
    barrier = threading.Barrier(4)
    statuses = []

    def attempt():
        try:
            barrier.wait(timeout=10)
            statuses.append(refresh(token).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(statuses) == [200, 401, 401, 401]


# --- Logout -----------------------------------------------------------------------------------


def test_logout_requires_authentication(user):
    pair = login_pair(user)

    response = APIClient().post(LOGOUT, {"refresh": pair["refresh"]}, format="json")

    assert_problem(response, 401, "not-authenticated")
    assert refresh(pair["refresh"]).status_code == 200  # nothing was revoked


def test_logout_revokes_the_refresh_token(user):
    pair = login_pair(user)

    response = bearer(pair["access"]).post(LOGOUT, {"refresh": pair["refresh"]}, format="json")

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(refresh(pair["refresh"]), 401, "not-authenticated")


def test_logout_revokes_only_that_refresh_token(user):
    first = login_pair(user)
    second = login_pair(user)

    assert bearer(first["access"]).post(LOGOUT, {"refresh": first["refresh"]}, format="json").status_code == 204

    assert refresh(second["refresh"]).status_code == 200


def test_logout_with_another_users_refresh_token_is_400(user, other_user):
    mine = login_pair(user)
    theirs = login_pair(other_user)

    response = bearer(mine["access"]).post(LOGOUT, {"refresh": theirs["refresh"]}, format="json")

    assert_validation_error(response, "refresh")
    assert refresh(theirs["refresh"]).status_code == 200


def test_logout_twice_is_400(user):
    pair = login_pair(user)
    client = bearer(pair["access"])
    assert client.post(LOGOUT, {"refresh": pair["refresh"]}, format="json").status_code == 204

    response = client.post(LOGOUT, {"refresh": pair["refresh"]}, format="json")

    assert_validation_error(response, "refresh")


def test_logout_with_rotated_away_token_is_400(user):
    pair = login_pair(user)
    refresh(pair["refresh"])

    response = bearer(pair["access"]).post(LOGOUT, {"refresh": pair["refresh"]}, format="json")

    assert_validation_error(response, "refresh")


@pytest.mark.parametrize("token", ["garbage", "access"])
def test_logout_with_invalid_token_is_400(user, token):
    pair = login_pair(user)
    value = pair["access"] if token == "access" else token

    response = bearer(pair["access"]).post(LOGOUT, {"refresh": value}, format="json")

    assert_validation_error(response, "refresh")
    assert refresh(pair["refresh"]).status_code == 200


def test_logout_without_token_is_400(user):
    pair = login_pair(user)

    response = bearer(pair["access"]).post(LOGOUT, {}, format="json")

    assert_validation_error(response, "refresh")


def test_logout_with_session_auth(user):
    """The browser UI signs out with its session (CSRF enforced by DRF's SessionAuthentication)."""
    pair = login_pair(user)
    client = APIClient()
    client.force_login(user)

    response = client.post(LOGOUT, {"refresh": pair["refresh"]}, format="json")

    assert response.status_code == 204


def test_logout_does_not_affect_other_users(user):
    other = UserFactory()
    other_pair = login_pair(other)
    mine = login_pair(user)

    bearer(mine["access"]).post(LOGOUT, {"refresh": mine["refresh"]}, format="json")

    assert refresh(other_pair["refresh"]).status_code == 200


def test_a_token_this_process_validated_before_still_expires(user):
    """Validated tokens are kept per process (accounts/authentication.py), never past their expiry."""
    import datetime as dt

    import time_machine
    from django.conf import settings

    access = login_pair(user)["access"]
    assert bearer(access).get(ME).status_code == 200
    assert bearer(access).get(ME).status_code == 200  # the kept validation
    lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    with time_machine.travel(dt.datetime.now(dt.UTC) + lifetime + dt.timedelta(seconds=1), tick=False):
        assert_problem(bearer(access).get(ME), 401, "not-authenticated")


def test_a_new_signing_key_refuses_earlier_tokens_validated_or_not(user, settings):
    access = login_pair(user)["access"]
    assert bearer(access).get(ME).status_code == 200
    settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, "SIGNING_KEY": "another-signing-key-" + "x" * 40}
    assert_problem(bearer(access).get(ME), 401, "not-authenticated")

"""The accounts pages through Django's test client: sign up, log in and out, password reset,
settings. (The same flows in a real browser: tests/browser/.)"""

import re

import pytest
from django.core import mail

from accounts.models import User
from tests.support.api import LOGIN
from tests.support.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_the_landing_page_invites_to_sign_up_and_sends_members_to_the_dashboard(client, user):
    body = client.get("/").content.decode()
    assert 'href="/accounts/signup"' in body and 'href="/accounts/login"' in body

    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/dashboard"


def test_pages_carry_a_strict_content_security_policy_and_a_permissions_policy(client):
    response = client.get("/accounts/login")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert "camera=()" in response["Permissions-Policy"]


def test_sign_up_creates_the_account_and_signs_in(client):
    response = client.post("/accounts/signup", {"username": "newbie", "email": " New@Example.COM ",
                                                "password": "a-long-password-77"})
    assert response.status_code == 302 and response["Location"] == "/dashboard"
    user = User.objects.get(username="newbie")
    assert user.email == "new@example.com"
    assert client.get("/dashboard").status_code == 200


def test_sign_up_errors_sit_next_to_their_fields_and_keep_the_values(client, user):
    response = client.post("/accounts/signup", {"username": "other", "email": user.email.upper(),
                                                "password": "123"})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'aria-describedby="id_email_errors"' in body and 'id="id_email_errors"' in body
    assert "A user with that email already exists." in body
    assert 'id="id_password_errors"' in body
    assert 'value="other"' in body
    assert not User.objects.filter(username="other").exists()


@pytest.mark.parametrize("identifier", ["email", "username"])
def test_log_in_with_email_or_username(client, user, identifier):
    value = getattr(user, identifier).upper()
    response = client.post("/accounts/login", {"identifier": value, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/dashboard"


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(client, user):
    wrong = client.post("/accounts/login", {"identifier": user.email, "password": "not-it-at-all"})
    unknown = client.post("/accounts/login", {"identifier": "nobody@example.com", "password": "not-it-at-all"})
    assert wrong.status_code == unknown.status_code == 400
    message = "The email or username and password do not match an account."
    assert message in wrong.content.decode() and message in unknown.content.decode()


def test_next_is_honoured_for_local_paths_only(client, user):
    data = {"identifier": user.username, "password": DEFAULT_PASSWORD}
    assert client.post("/accounts/login?next=/stats", data)["Location"] == "/stats"
    client.logout()
    assert client.post("/accounts/login?next=https://evil.example/x", data)["Location"] == "/dashboard"


def test_log_in_shares_the_apis_per_account_limit(client, api_client, user, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login": "3/min"}
    for _ in range(2):
        api_client.post(LOGIN, {"email": user.email, "password": "wrong-password-1"}, format="json")
    client.post("/accounts/login", {"identifier": user.email, "password": "wrong-password-1"})

    response = client.post("/accounts/login", {"identifier": user.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 400
    assert "Too many attempts. Try again in" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_log_out_is_a_post(client, user):
    client.force_login(user)
    assert client.get("/accounts/logout").status_code == 405
    response = client.post("/accounts/logout")
    assert response["Location"] == "/"
    assert client.get("/dashboard")["Location"].startswith("/accounts/login?next=/dashboard")


def test_password_reset_by_email_without_revealing_accounts(client, user):
    unknown = client.post("/accounts/password/reset", {"email": "nobody@example.com"})
    known = client.post("/accounts/password/reset", {"email": user.email.upper()})
    assert unknown["Location"] == known["Location"] == "/accounts/password/reset/sent"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [user.email]

    link = re.search(r"http://testserver(/accounts/password/reset/\S+)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    response = client.post(form_page.redirect_chain[-1][0], {"new_password1": "brand-new-secret-42",
                                                              "new_password2": "brand-new-secret-42"})
    assert response["Location"] == "/accounts/password/reset/complete"
    user.refresh_from_db()
    assert user.check_password("brand-new-secret-42")


def test_settings_change_units_and_time_zone(client, user):
    client.force_login(user)
    response = client.post("/settings", {"action": "profile", "profile-email": user.email,
                                         "profile-timezone": "America/Denver", "profile-units": "imperial"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.timezone, user.units) == ("America/Denver", "imperial")
    assert "Distance (mi)" in client.get("/activities/new").content.decode()


def test_settings_refuse_an_unknown_time_zone(client, user):
    client.force_login(user)
    response = client.post("/settings", {"action": "profile", "profile-email": user.email,
                                         "profile-timezone": "Mars/Olympus", "profile-units": "metric"})
    assert response.status_code == 400
    assert 'id="id_profile-timezone_errors"' in response.content.decode()


def test_password_change_keeps_this_session(client, user):
    client.force_login(user)
    response = client.post("/settings", {"action": "password", "password-current_password": DEFAULT_PASSWORD,
                                         "password-new_password": "another-secret-99"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("another-secret-99")
    assert client.get("/settings").status_code == 200


def test_account_deletion_needs_the_password(client, user):
    client.force_login(user)
    wrong = client.post("/settings", {"action": "delete", "delete-password": "nope-nope-nope"})
    assert wrong.status_code == 400 and "The password is incorrect." in wrong.content.decode()
    assert User.objects.filter(pk=user.pk).exists()

    response = client.post("/settings", {"action": "delete", "delete-password": DEFAULT_PASSWORD})
    assert response["Location"] == "/"
    assert not User.objects.filter(pk=user.pk).exists()


def test_pages_need_a_session(client):
    for path in ["/dashboard", "/activities", "/activities/new", "/stats", "/exports", "/settings"]:
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == f"/accounts/login?next={path}"


def test_a_form_without_csrf_token_gets_an_html_page(user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login", {"identifier": user.username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert "The form expired" in response.content.decode()


def test_unknown_pages_are_html_in_the_layout_and_api_paths_stay_problems(client):
    page = client.get("/no/such/page")
    assert page.status_code == 404 and "Page not found" in page.content.decode()
    assert client.get("/api/v1/no-such").headers["Content-Type"] == "application/problem+json"


def test_other_users_cannot_sign_in_as_inactive(client):
    inactive = UserFactory(is_active=False)
    response = client.post("/accounts/login", {"identifier": inactive.username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 400

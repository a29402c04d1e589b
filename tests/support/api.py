"""API paths, clients and problem assertions shared by the tests (and nothing from conftest)."""

from rest_framework.test import APIClient

PROBLEM_BASE = "https://activelog.dev/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/users/me"
PASSWORD = "/api/v1/users/me/password"

USER_FIELDS = {"id", "username", "email", "timezone", "units", "date_joined"}


def assert_problem(response, status: int, kind: str) -> dict:
    """The response is an RFC 9457 problem of the given status and type; returns its body."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    body = response.json()
    assert body["type"] == PROBLEM_BASE + kind
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["instance"] == response.wsgi_request.path
    assert body["request_id"] == response["X-Request-ID"]
    assert body["request_id"]
    if kind != "validation-error":
        assert "errors" not in body
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Bearer")
    return body


def assert_validation_error(response, *fields: str) -> dict:
    """A 400 validation problem whose ``errors`` names every given field (each with messages)."""
    body = assert_problem(response, 400, "validation-error")
    errors = body["errors"]
    assert isinstance(errors, dict)
    for field in fields:
        assert field in errors, (field, errors)
        assert errors[field] and all(isinstance(message, str) and message for message in errors[field])
    return body


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def bearer_client(user) -> APIClient:
    """A client signed in as ``user`` with a fresh access token."""
    from accounts.services import tokens_for_user

    return bearer(tokens_for_user(user=user)["access"])

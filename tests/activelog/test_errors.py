"""RFC 9457 problem details for every API error (API.md section 1.1)."""

import json
import logging

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError, ProgrammingError
from django.urls import include, path
from rest_framework.test import APIClient

import accounts.services
from activelog import errors
from activelog.api.errors import flatten_errors
from activelog.logging import RequestIDFilter
from activities import selectors as activity_selectors
from activities import services as activity_services
from tests.support.api import LOGIN, ME, REGISTER, assert_problem, assert_validation_error
from tests.support.factories import DEFAULT_PASSWORD, ActivityFactory


def _django_view_that_crashes(request):
    raise RuntimeError("boom secret from a plain Django view")


def _django_view_without_its_database(request):
    raise OperationalError('connection to server at "10.0.0.5", port 5432 failed: Connection refused')


# A URLconf for the tests that need a crash outside DRF; the project's handlers stay in charge.
urlpatterns = [
    path("api/v1/crash", _django_view_that_crashes),
    path("crash", _django_view_that_crashes),
    path("api/v1/database-down", _django_view_without_its_database),
    path("database-down", _django_view_without_its_database),
    path("", include("activelog.urls")),  # the pages' layout links to the project's routes
]
handler404 = "activelog.views.not_found"
handler500 = "activelog.views.crashed"


# --- 404 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/api/v1/nope", "/api/whatever", "/api", "/api/", "/api/v1", "/api/v2/users/me", "/api/v1/auth/login/extra"],
)
def test_unknown_api_paths_are_404_problems(api_client, db, url):
    response = api_client.get(url)

    body = assert_problem(response, 404, "not-found")
    assert body["instance"] == url


def test_unknown_api_path_with_post_is_404_problem_not_redirect(api_client, db):
    response = api_client.post("/api/v1/auth/login/", {"email": "x@example.com"}, format="json")

    assert_problem(response, 404, "not-found")


def test_unknown_non_api_path_is_not_a_problem(client, db):
    response = client.get("/definitely-not-here")

    assert response.status_code == 404
    assert response["Content-Type"] != "application/problem+json"


# --- 405 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("put", LOGIN, "POST"),
        ("get", LOGIN, "POST"),
        ("delete", REGISTER, "POST"),
        ("patch", "/api/v1/auth/refresh", "POST"),
        ("post", "/api/schema", "GET"),
        ("delete", "/api/docs", "GET"),
    ],
)
def test_wrong_method_is_405_problem(api_client, db, method, url, allowed):
    response = getattr(api_client, method)(url, {}, format="json")

    assert_problem(response, 405, "method-not-allowed")
    assert allowed in response["Allow"]


def test_wrong_method_on_authenticated_endpoint(auth_client):
    response = auth_client.put(ME, {"units": "imperial"}, format="json")

    assert_problem(response, 405, "method-not-allowed")


# --- 400 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [b'{"email": "x@example.com", ', b"not json at all", b"{'single': 'quotes'}", b"\xff\xfe\x00", b"[1, 2"],
)
def test_malformed_json_is_400_problem(api_client, db, raw):
    response = api_client.post(LOGIN, raw, content_type="application/json")

    body = assert_validation_error(response, "non_field_errors")
    assert "Traceback" not in response.content.decode("utf-8", "replace")
    assert body["detail"]


def test_malformed_json_on_authenticated_patch(auth_client):
    response = auth_client.patch(ME, b'{"units": ', content_type="application/json")

    assert_validation_error(response, "non_field_errors")


@pytest.mark.parametrize("raw", [b"[]", b'"a string"', b"42", b"null"])
def test_json_that_is_not_an_object_is_400_problem(api_client, db, raw):
    response = api_client.post(REGISTER, raw, content_type="application/json")

    assert_validation_error(response, "non_field_errors")


def test_wrong_content_type_is_415_problem(api_client, db):
    response = api_client.post(
        LOGIN, "email=a@example.com&password=x", content_type="application/x-www-form-urlencoded"
    )

    assert_problem(response, 415, "unsupported-media-type")


def test_oversized_json_body_is_413_problem(api_client, db):
    body = json.dumps({"email": "a@example.com", "password": "x" * (3 * 1024 * 1024)})

    response = api_client.post(LOGIN, body, content_type="application/json")

    assert_problem(response, 413, "payload-too-large")


@pytest.mark.parametrize("url", ["/api/schema?format=nope", "/api/docs?format=nope"])
def test_problems_from_non_json_views_are_json(api_client, db, url):
    response = api_client.get(url)

    assert_problem(response, 404, "not-found")


def test_unacceptable_accept_header_is_406_problem(api_client, db):
    response = api_client.get(ME, HTTP_ACCEPT="application/xml")

    assert response.status_code == 406
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 406


def test_validation_problem_shape(api_client, db):
    response = api_client.post(REGISTER, {"username": "x", "email": "nope"}, format="json")

    body = assert_validation_error(response, "username", "email", "password")
    assert body["title"] == "Validation failed"
    assert body["detail"] == "One or more fields are invalid."
    assert body["instance"] == REGISTER
    assert list(body) == ["type", "title", "status", "detail", "instance", "errors", "request_id"]


def test_flatten_errors_uses_dotted_keys_for_nested_items():
    detail = {
        "tags": [{}, {}, {}, ["Ensure this field has no more than 50 characters."]],
        "activities": [{}, {"duration_minutes": ["Too long."]}],
        "non_field_errors": ["Broken."],
        "title": ["Bad."],
    }

    assert flatten_errors(detail) == {
        "tags.3": ["Ensure this field has no more than 50 characters."],
        "activities.1.duration_minutes": ["Too long."],
        "non_field_errors": ["Broken."],
        "title": ["Bad."],
    }


def test_flatten_errors_plain_list_goes_to_non_field_errors():
    assert flatten_errors(["Nope."]) == {"non_field_errors": ["Nope."]}
    assert flatten_errors("Nope.") == {"non_field_errors": ["Nope."]}


# --- 401 / 403 ----------------------------------------------------------------------------------


def test_unauthenticated_is_401_problem_with_challenge(api_client, db):
    response = api_client.get(ME)

    body = assert_problem(response, 401, "not-authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert body["instance"] == ME


def test_invalid_token_is_401_problem_with_challenge(api_client, db):
    api_client.credentials(HTTP_AUTHORIZATION="Bearer eyJhbGciOiJIUzI1NiJ9.e30.invalid")

    response = api_client.get(ME)

    assert_problem(response, 401, "not-authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_failed_login_is_401_not_403(api_client, user):
    response = api_client.post(LOGIN, {"email": user.email, "password": "wrong-wrong-1"}, format="json")

    assert_problem(response, 401, "not-authenticated")


def test_csrf_failure_for_session_is_403_problem(user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.patch(ME, {"units": "imperial"}, format="json")

    assert_problem(response, 403, "permission-denied")


# --- 500 ----------------------------------------------------------------------------------------


@pytest.fixture
def request_id_logging(caplog):
    """caplog with the project's request-id filter, as on the real log handler."""
    caplog.handler.addFilter(RequestIDFilter())
    caplog.set_level(logging.ERROR)
    yield caplog
    caplog.handler.filters.clear()


def _boom(**kwargs):
    raise RuntimeError("boom secret")


def test_unexpected_exception_in_api_view_is_500_problem(auth_client, monkeypatch, request_id_logging):
    monkeypatch.setattr(accounts.services, "user_update", _boom)

    response = auth_client.patch(ME, {"units": "imperial"}, format="json", HTTP_X_REQUEST_ID="crash-req-1")

    body = assert_problem(response, 500, "server-error")
    assert body["request_id"] == "crash-req-1"
    text = response.content.decode()
    assert "boom secret" not in text
    assert "RuntimeError" not in text
    assert "Traceback" not in text
    assert "accounts/services" not in text
    # Logged once with the traceback and the request id, so the response can be tied to it.
    records = [r for r in request_id_logging.records if r.exc_info and "boom secret" in str(r.exc_info[1])]
    assert records
    assert all(r.request_id == "crash-req-1" for r in records)
    assert any(r.name == "activelog.api" for r in records)


def test_unexpected_exception_generated_request_id_is_logged(auth_client, monkeypatch, request_id_logging):
    monkeypatch.setattr(accounts.services, "user_update", _boom)

    response = auth_client.patch(ME, {"units": "imperial"}, format="json")

    body = assert_problem(response, 500, "server-error")
    logged = {r.request_id for r in request_id_logging.records if r.exc_info}
    assert logged == {body["request_id"]}


def test_unexpected_exception_in_public_view_is_500_problem(api_client, user, monkeypatch, request_id_logging):
    monkeypatch.setattr(accounts.services, "user_login", _boom)

    response = api_client.post(LOGIN, {"email": user.email, "password": DEFAULT_PASSWORD}, format="json")

    assert_problem(response, 500, "server-error")
    assert "boom secret" not in response.content.decode()


@pytest.mark.urls("tests.activelog.test_errors")
def test_crash_outside_drf_is_500_problem(db, request_id_logging):
    client = APIClient(raise_request_exception=False)

    response = client.get("/api/v1/crash", HTTP_X_REQUEST_ID="plain-crash-7")

    body = assert_problem(response, 500, "server-error")
    assert body["request_id"] == "plain-crash-7"
    assert "boom secret" not in response.content.decode()
    records = [r for r in request_id_logging.records if r.exc_info]
    assert records
    assert {r.request_id for r in records} == {"plain-crash-7"}


@pytest.mark.urls("tests.activelog.test_errors")
def test_crash_outside_api_is_not_a_problem(db):
    client = APIClient(raise_request_exception=False)

    response = client.get("/crash")

    assert response.status_code == 500
    assert response["Content-Type"] != "application/problem+json"
    assert "boom secret" not in response.content.decode()
    assert response["X-Request-ID"]


# --- Every error carries the request id ----------------------------------------------------------


def test_problem_request_id_matches_header_for_incoming_id(api_client, db):
    response = api_client.get("/api/v1/nope", HTTP_X_REQUEST_ID="trace-me-42")

    body = assert_problem(response, 404, "not-found")
    assert body["request_id"] == "trace-me-42" == response["X-Request-ID"]


def test_too_many_form_fields_is_a_400_problem(auth_client, user):
    from django.test.client import encode_multipart

    activity = ActivityFactory(user=user)
    fields = {f"field{i}": "x" for i in range(1100)}
    response = auth_client.post(f"/api/v1/activities/{activity.pk}/photos", data=encode_multipart("BoUnDaRy", fields),
                                content_type="multipart/form-data; boundary=BoUnDaRy")
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"


# --- domain errors: one translation each (activelog.api.errors.api_exception) ------------------


@pytest.mark.parametrize(("error", "status", "kind", "headers"), [
    (errors.NotFound("No activity with this id."), 404, "not-found", {}),
    (errors.Conflict("The report is not ready yet."), 409, "conflict", {}),
    (errors.DependencyUnavailable("The photo storage is unavailable.", retry_after=42), 503, "service-unavailable",
     {"Retry-After": "42"}),
    (errors.NotAuthenticated("Token is blacklisted"), 401, "not-authenticated",
     {"WWW-Authenticate": 'Bearer realm="api"'}),
    (errors.ContentTooLarge("The file is larger than 10 MB."), 413, "payload-too-large", {}),
    (errors.UnsupportedContent("Not a JPEG, PNG or WebP image."), 415, "unsupported-media-type", {}),
], ids=["not-found", "conflict", "dependency-unavailable", "not-authenticated", "too-large", "unsupported"])
def test_each_domain_error_is_its_problem(auth_client, monkeypatch, error, status, kind, headers):
    def raising(**kwargs):
        raise error

    monkeypatch.setattr(activity_selectors, "activity_get", raising)

    response = auth_client.get("/api/v1/activities/1")

    body = assert_problem(response, status, kind)
    assert body["detail"] == error.message
    for name, value in headers.items():
        assert response[name] == value


def test_not_found_from_a_selector_is_a_404_problem(auth_client, other_user):
    theirs = ActivityFactory(user=other_user)
    body = assert_problem(auth_client.get(f"/api/v1/activities/{theirs.pk}"), 404, "not-found")
    assert body["detail"] == "No activity with this id."


def test_a_validation_error_from_a_service_is_a_400_problem_naming_the_field(auth_client, monkeypatch):
    def refusing(**kwargs):
        raise DjangoValidationError({"activity_date": ["Cannot be more than 5 minutes in the future."]})

    monkeypatch.setattr(activity_services, "activity_create", refusing)
    payload = {"activity_type": "running", "duration_minutes": 30, "activity_date": "2026-01-01T07:00:00Z"}

    response = auth_client.post("/api/v1/activities", payload, format="json")

    body = assert_validation_error(response, "activity_date")
    assert body["errors"]["activity_date"] == ["Cannot be more than 5 minutes in the future."]


# --- The database unavailable: 503 with Retry-After (activelog/database.py) ----------------------


def test_database_unavailable_in_an_api_view_is_a_503_problem(auth_client, monkeypatch, caplog):
    def raising(**kwargs):
        raise OperationalError('connection to server at "10.0.0.5", port 5432 failed: Connection refused')

    monkeypatch.setattr(activity_selectors, "activity_get", raising)

    with caplog.at_level(logging.WARNING, logger="activelog.database"):
        response = auth_client.get("/api/v1/activities/1")

    body = assert_problem(response, 503, "service-unavailable")
    assert response["Retry-After"] == "5"
    assert "10.0.0.5" not in response.content.decode()
    logged = [r for r in caplog.records if r.name == "activelog.database"]
    assert [(r.request_id, r.error) for r in logged] == [(body["request_id"], "OperationalError")]


def test_other_database_errors_stay_500(auth_client, monkeypatch):
    def raising(**kwargs):
        raise ProgrammingError('relation "activities_activity" does not exist')

    monkeypatch.setattr(activity_selectors, "activity_get", raising)

    assert_problem(auth_client.get("/api/v1/activities/1"), 500, "server-error")


@pytest.mark.urls("tests.activelog.test_errors")
@pytest.mark.parametrize("handled_by", ["middleware", "handler500"])
def test_database_unavailable_outside_drf_is_a_503(db, settings, handled_by):
    if handled_by == "handler500":  # as when a middleware (the session, the user) meets the outage
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if not m.endswith("DatabaseUnavailableMiddleware")]
    client = APIClient(raise_request_exception=False)

    response = client.get("/api/v1/database-down")
    assert_problem(response, 503, "service-unavailable")
    assert response["Retry-After"] == "5"
    assert "10.0.0.5" not in response.content.decode()

    response = client.get("/database-down")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == "5"
    assert "Temporarily unavailable" in response.content.decode()
    assert "10.0.0.5" not in response.content.decode()


# --- trace_id when tracing is on (API.md 1.1) ------------------------------------------------------


def test_problem_carries_the_trace_id_of_the_current_span(api_client, db):
    from opentelemetry.sdk.trace import TracerProvider

    with TracerProvider().get_tracer("test").start_as_current_span("request") as span:
        response = api_client.get("/api/v1/nope")

    body = assert_problem(response, 404, "not-found")
    assert body["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert len(body["trace_id"]) == 32


def test_problem_has_no_trace_id_without_tracing(api_client, db):
    assert "trace_id" not in assert_problem(api_client.get("/api/v1/nope"), 404, "not-found")

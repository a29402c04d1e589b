"""X-Request-ID in and out (API.md section 1)."""

import re

import pytest

from activelog.middleware import incoming_or_new_request_id
from tests.support.api import LOGIN, ME, assert_problem

GENERATED = re.compile(r"^[0-9a-f]{32}$")


@pytest.mark.parametrize(
    "incoming",
    ["abc-123", "a", "x" * 64, "4f0c6b1e9d2a4c1f", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "svc.v1:req_9"],
)
def test_sane_incoming_request_id_is_echoed(client, db, incoming):
    response = client.get("/", HTTP_X_REQUEST_ID=incoming)

    assert response["X-Request-ID"] == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        "x" * 65,  # too long
        "has space",
        "line\nbreak",
        "trailing-newline\n",
        "carriage\rreturn",
        "tab\there",
        "quote\"d",
        "semi;colon",
        "key=value",
        "<script>",
        "ünïcode",
        "",
        " ",
    ],
)
def test_insane_incoming_request_id_is_replaced(client, db, incoming):
    response = client.get("/", HTTP_X_REQUEST_ID=incoming)

    assert response.status_code == 200
    assert GENERATED.match(response["X-Request-ID"])
    assert response["X-Request-ID"] != incoming


def test_generated_when_absent_and_unique_per_request(client, db):
    first = client.get("/")["X-Request-ID"]
    second = client.get("/")["X-Request-ID"]

    assert GENERATED.match(first)
    assert GENERATED.match(second)
    assert first != second


def test_request_id_on_api_success(auth_client):
    response = auth_client.get(ME, HTTP_X_REQUEST_ID="api-ok-1")

    assert response.status_code == 200
    assert response["X-Request-ID"] == "api-ok-1"


def test_request_id_on_api_error_matches_body(api_client, db):
    response = api_client.get(ME, HTTP_X_REQUEST_ID="api-err-1")

    body = assert_problem(response, 401, "not-authenticated")
    assert body["request_id"] == "api-err-1"


def test_replaced_request_id_is_the_one_in_the_body(api_client, db):
    response = api_client.post(LOGIN, {}, format="json", HTTP_X_REQUEST_ID="bad id\n")

    body = assert_problem(response, 400, "validation-error")
    assert GENERATED.match(body["request_id"])
    assert body["request_id"] == response["X-Request-ID"]


@pytest.mark.parametrize("url", ["/", "/definitely-not-here", "/api/v1/nope", "/admin/login/"])
def test_request_id_on_every_kind_of_response(client, db, url):
    response = client.get(url)

    assert GENERATED.match(response["X-Request-ID"])


def test_incoming_or_new_request_id_unit():
    assert incoming_or_new_request_id("abc-123") == "abc-123"
    assert GENERATED.match(incoming_or_new_request_id(None))
    assert GENERATED.match(incoming_or_new_request_id("abc\n"))
    assert GENERATED.match(incoming_or_new_request_id("x" * 65))

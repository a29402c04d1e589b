"""Hostile input (issue 15): whatever a client sends, the API answers with a problem, never a 5xx.

Classes of input, each parametrized over the endpoints and fields it can reach: deep nesting,
NUL and other control characters in text, extreme numbers and dates, wrong JSON types,
duplicated and empty query parameters, bodies over the size limit. A 400 always names the field
(or query parameter) that was refused.

The first section holds one test per numbered defect of issue 15 (items 1-6), each reproducing
the report as written.
"""

import datetime as dt
import io
import json
import threading

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.exceptions import ParseError
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from activelog.api.parsers import MAX_JSON_DEPTH, JSONParser
from activities import rules
from activities.models import Activity
from tests.support.api import (
    LOGIN,
    LOGOUT,
    ME,
    PASSWORD,
    PROBLEM_CONTENT_TYPE,
    REFRESH,
    REGISTER,
    assert_problem,
    bearer_client,
)
from tests.support.factories import DEFAULT_PASSWORD, ActivityFactory, ExportJobFactory, UserFactory
from tests.support.images import jpeg

pytestmark = pytest.mark.django_db

ACTIVITIES = "/api/v1/activities"
BATCH = "/api/v1/activities/batch"
CSV = "/api/v1/activities/export/csv"
PDF = "/api/v1/activities/export/pdf"
STATS = "/api/v1/activities/stats"
TOP_TAGS = "/api/v1/users/me/tags/top"
TRENDS = "/api/v1/analytics/trends/monthly"
JOBS = "/api/v1/jobs"
TAGS = "/api/v1/tags"
SUMMARY = "/api/v1/users/me/summary"
STREAKS = "/api/v1/users/me/streaks"
RECORDS = "/api/v1/analytics/records"


def activity_payload(**overrides) -> dict:
    payload = {
        "activity_type": "running",
        "title": "Morning run",
        "description": "Easy 5k",
        "duration_minutes": 30,
        "distance_km": 5.2,
        "calories_burned": 300,
        "notes": "Felt great",
        "activity_date": "2026-01-10T07:00:00Z",
        "tags": ["morning"],
    }
    payload.update(overrides)
    return payload


def assert_not_a_server_error(response) -> None:
    """Below 500, and every error is a problem."""
    assert response.status_code < 500, (response.status_code, response.content[:500])
    if response.status_code >= 400:
        assert response["Content-Type"] == PROBLEM_CONTENT_TYPE, response["Content-Type"]


def assert_refused(response, field: str) -> dict:
    """A 400 validation problem whose errors name ``field`` (or an item of it, ``field.N``)."""
    body = assert_problem(response, 400, "validation-error")
    named = [key for key in body["errors"] if key == field or key.startswith(f"{field}.")]
    assert named, (field, body["errors"])
    return body


def raw_json(body: dict, **raw_values: str) -> str:
    """``body`` as JSON with some values replaced by raw JSON text (1e309, 10**5000, "\\ud800")."""
    text = json.dumps(body)
    for name, raw in raw_values.items():
        text = text.replace(json.dumps(f"__{name}__"), raw)
    return text


def send(client, method: str, path: str, body=None, *, raw: str | bytes | None = None, **extra):
    if raw is not None:
        return getattr(client, method)(path, raw, content_type="application/json", **extra)
    return getattr(client, method)(path, body, format="json", **extra)


@pytest.fixture
def activity(user):
    return ActivityFactory(user=user, activity_date=timezone.now() - dt.timedelta(days=1))


# --- the numbered defects of issue 15 ---------------------------------------------------------------


# 1. Deeply nested JSON was a 500 (RecursionError) on every JSON endpoint, login included.
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 950, 1000, 100_000])
@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_1_deeply_nested_json_at_login_is_a_400_problem(api_client, depth, opener):
    closer = "]" if opener == "[" else "}"
    raw = opener * depth + "1" + closer * depth

    response = api_client.post(LOGIN, raw, content_type="application/json")

    body = assert_refused(response, "non_field_errors")
    assert "nest" in body["detail"].lower()


# 2. NUL in the list filters was a 500 (DataError); the CSV export sent 200 and broke off.
@pytest.mark.parametrize("url", [ACTIVITIES, CSV])
@pytest.mark.parametrize("param", ["tag", "activity_type", "type", "search"])
def test_2_nul_in_a_list_filter_is_a_400_naming_it(auth_client, activity, url, param):
    response = auth_client.get(url, {param: "\x00"})

    assert_refused(response, param)


# 3. A wide statistics range was a 500 (OverflowError).
def test_3_wide_statistics_range_is_a_400(auth_client):
    response = auth_client.get(STATS, {"start_date": "0001-01-01", "end_date": "9999-12-31"})

    body = assert_refused(response, "start_date")
    assert "end_date" in body["errors"]


# 4. One activity dated 0001-01-01T00:00:00Z broke statistics for good after a time-zone change.
def test_4_an_activity_in_year_one_is_refused_and_statistics_survive_a_time_zone_change(auth_client):
    created = auth_client.post(ACTIVITIES, activity_payload(activity_date="0001-01-01T00:00:00Z"), format="json")
    earliest = auth_client.post(ACTIVITIES, activity_payload(activity_date="1900-01-01T00:00:00Z"), format="json")
    moved = auth_client.patch(ME, {"timezone": "America/Los_Angeles"}, format="json")

    answers = {url: auth_client.get(url) for url in (SUMMARY, STREAKS, RECORDS, STATS)}

    assert_refused(created, "activity_date")
    assert earliest.status_code == 201, earliest.content
    assert moved.status_code == 200
    assert {url: r.status_code for url, r in answers.items()} == dict.fromkeys(answers, 200)
    assert answers[SUMMARY].json()["total_activities"] == 1


# 5. Unsafe methods on an /api path the router does not match got the CSRF failure (403).
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("url", ["/api/v1/auth/login/", "/api/v1/activities/abc", "/api/v1/activities/-5", "/api"])
def test_5_unsafe_methods_on_unknown_api_paths_are_404_problems(db, method, url):
    client = APIClient(enforce_csrf_checks=True)

    response = getattr(client, method)(url, {"email": "x@example.com"}, format="json")

    assert_problem(response, 404, "not-found")


def test_5_with_a_session_too(user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)

    assert_problem(client.post("/api/v1/activities/abc", {}, format="json"), 404, "not-found")


# 6. The per-account login throttle counted identifiers: email and username alternated got 10.
def test_6_login_throttle_counts_the_account_however_it_is_named(api_client, user):
    names = [("email", user.email), ("username", user.username), ("email", user.email.upper()),
             ("username", f"  {user.username.upper()} "), ("email", f" {user.email.title()}")]
    for n, (field, identifier) in enumerate(names):
        response = api_client.post(LOGIN, {field: identifier, "password": "wrong-password-1"}, format="json",
                                   REMOTE_ADDR=f"198.51.100.{n + 1}")
        assert response.status_code == 401, (n, response.content)

    response = api_client.post(LOGIN, {"username": user.username, "password": DEFAULT_PASSWORD}, format="json",
                               REMOTE_ADDR="198.51.100.99")

    assert_problem(response, 429, "throttled")


# --- 1. nesting ----------------------------------------------------------------------------------

JSON_ENDPOINTS = [
    ("post", REGISTER), ("post", LOGIN), ("post", REFRESH), ("post", LOGOUT), ("patch", ME), ("delete", ME),
    ("post", PASSWORD), ("post", ACTIVITIES), ("put", "{activity}"), ("patch", "{activity}"), ("post", BATCH),
    ("delete", BATCH), ("post", PDF),
]


def endpoint_path(path: str, activity) -> str:
    return path.format(activity=f"{ACTIVITIES}/{activity.pk}")


@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
def test_deep_nesting_is_a_400_on_every_json_endpoint(auth_client, activity, method, path):
    raw = '{"activity_type": ' + "[" * 5000 + "]" * 5000 + "}"

    response = send(auth_client, method, endpoint_path(path, activity), raw=raw)

    assert_refused(response, "non_field_errors")


def test_nesting_up_to_the_limit_is_parsed(auth_client):
    """Unknown fields are ignored, however nested (up to the limit)."""
    deep = "[" * (MAX_JSON_DEPTH - 1) + "]" * (MAX_JSON_DEPTH - 1)

    response = auth_client.post(ACTIVITIES, raw_json(activity_payload(extra="__deep__"), deep=deep),
                                content_type="application/json")

    assert response.status_code == 201, response.content


def test_the_depth_check_does_not_recurse_even_on_a_small_thread_stack():
    """gunicorn's threads may have small stacks: the parser refuses deep documents without
    recursing into them (json.loads would)."""
    outcome = {}

    def parse():
        try:
            JSONParser().parse(io.BytesIO(b"[" * 200_000 + b"]" * 200_000))
        except ParseError as exc:
            outcome["error"] = exc
        except BaseException as exc:  # anything else is the failure reported below
            outcome["crash"] = exc

    previous = threading.stack_size(256 * 1024)
    try:
        worker = threading.Thread(target=parse)
        worker.start()
        worker.join()
    finally:
        threading.stack_size(previous)

    assert "crash" not in outcome, outcome
    assert isinstance(outcome["error"], ParseError)


@pytest.mark.parametrize("text", ['"[[[["', '"\\"[[[["', "[\"]]]]\", [[[1]]]]"])
def test_brackets_inside_strings_do_not_count(text):
    parsed = JSONParser().parse(io.BytesIO(text.encode()))

    assert parsed == json.loads(text)


@pytest.mark.parametrize("raw", ["[1, NaN]", '{"a": Infinity}', "-Infinity", '"\\ud800"', '{"\\udfff": 1}',
                                 "1" * 5000])
def test_json_that_python_reads_but_is_not_interoperable_is_a_400(api_client, raw):
    response = api_client.post(LOGIN, raw, content_type="application/json")

    assert_refused(response, "non_field_errors")


# --- 2. NUL and control characters ---------------------------------------------------------------

CONTROL = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f"]
ACTIVITY_TEXT_FIELDS = ["activity_type", "title", "description", "notes", "tags"]


def with_text(payload: dict, field: str, text: str) -> dict:
    value = f"ru{text}n"
    return {**payload, field: [value] if field == "tags" else value}


@pytest.mark.parametrize("char", CONTROL)
@pytest.mark.parametrize("field", ACTIVITY_TEXT_FIELDS)
@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_control_characters_in_activity_text_are_refused(auth_client, activity, method, field, char):
    url = ACTIVITIES if method == "post" else f"{ACTIVITIES}/{activity.pk}"
    payload = with_text(activity_payload(), field, char)

    response = getattr(auth_client, method)(url, payload, format="json")

    assert_refused(response, field)
    stored = Activity.objects.values_list("activity_type", "title", "description", "notes")
    assert not any(char in text for row in stored for text in row)


@pytest.mark.parametrize("field", ["title", "activity_type", "tags"])
@pytest.mark.parametrize("char", ["\t", "\n", "\r"])
def test_single_line_text_refuses_tabs_and_line_breaks_inside(auth_client, field, char):
    response = auth_client.post(ACTIVITIES, with_text(activity_payload(), field, char), format="json")

    assert_refused(response, field)


@pytest.mark.parametrize("field", ["description", "notes"])
def test_multi_line_text_keeps_tabs_and_line_breaks(auth_client, field):
    text = "Intervals:\r\n\t6 x 400 m\n\tjog back"

    response = auth_client.post(ACTIVITIES, activity_payload(**{field: text}), format="json")

    assert response.status_code == 201, response.content
    assert response.json()[field] == text


@pytest.mark.parametrize("field", ACTIVITY_TEXT_FIELDS)
def test_control_characters_in_a_batch_item_are_that_items_error(auth_client, field):
    items = [activity_payload(), with_text(activity_payload(), field, "\x00")]

    response = auth_client.post(BATCH, {"activities": items}, format="json")

    assert response.status_code == 207, response.content
    failed = response.json()["results"][1]
    assert failed["status"] == 400
    assert any(key == field or key.startswith(f"{field}.") for key in failed["errors"]), failed


ACCOUNT_TEXT_FIELDS = [
    # (method, path, body, field, signed in)
    ("post", REGISTER, {"username": "newcomer", "email": "new@example.com", "password": "sturdy-Lantern-42"},
     "username", False),
    ("post", REGISTER, {"username": "newcomer", "email": "new@example.com", "password": "sturdy-Lantern-42"},
     "email", False),
    ("post", REGISTER, {"username": "newcomer", "email": "new@example.com", "password": "sturdy-Lantern-42"},
     "password", False),
    ("post", LOGIN, {"email": "{email}", "password": DEFAULT_PASSWORD}, "email", False),
    ("post", LOGIN, {"username": "{username}", "password": DEFAULT_PASSWORD}, "username", False),
    ("post", LOGIN, {"email": "{email}", "password": DEFAULT_PASSWORD}, "password", False),
    ("post", REFRESH, {"refresh": "{refresh}"}, "refresh", False),
    ("post", LOGOUT, {"refresh": "{refresh}"}, "refresh", True),
    ("patch", ME, {"email": "changed@example.com"}, "email", True),
    ("patch", ME, {"timezone": "Europe/Paris"}, "timezone", True),
    ("patch", ME, {"units": "imperial"}, "units", True),
    ("post", PASSWORD, {"current_password": DEFAULT_PASSWORD, "new_password": "another-Lantern-43"},
     "current_password", True),
    ("post", PASSWORD, {"current_password": DEFAULT_PASSWORD, "new_password": "another-Lantern-43"},
     "new_password", True),
    ("delete", ME, {"password": DEFAULT_PASSWORD}, "password", True),
]


def _account_body(user, body: dict) -> dict:
    refresh = str(RefreshToken.for_user(user))
    values = {"email": user.email, "username": user.username, "refresh": refresh}
    return {key: value.format(**values) if isinstance(value, str) else value for key, value in body.items()}


def _insert(value: str, char: str) -> str:
    middle = max(1, len(value) // 2)
    return value[:middle] + char + value[middle:]


@pytest.mark.parametrize(("method", "path", "body", "field", "signed_in"), ACCOUNT_TEXT_FIELDS)
def test_nul_in_account_text_is_a_400_naming_the_field(api_client, user, method, path, body, field, signed_in):
    client = bearer_client(user) if signed_in else api_client
    body = _account_body(user, body)
    body[field] = _insert(body[field], "\x00")

    response = getattr(client, method)(path, body, format="json")

    assert_refused(response, field)


@pytest.mark.parametrize("char", CONTROL[1:])
@pytest.mark.parametrize(("method", "path", "body", "field", "signed_in"), ACCOUNT_TEXT_FIELDS)
def test_other_control_characters_in_account_text_never_reach_a_5xx(api_client, user, method, path, body, field,
                                                                    signed_in, char):
    """Names and addresses refuse them by their own rules; a password may hold any character but
    NUL (it is never shown nor stored as text); a login with them finds no account."""
    client = bearer_client(user) if signed_in else api_client
    body = _account_body(user, body)
    body[field] = _insert(body[field], char)

    response = getattr(client, method)(path, body, format="json")

    assert_not_a_server_error(response)
    if field in {"username", "email", "timezone", "units"} and path != LOGIN:
        assert_refused(response, field)


@pytest.mark.parametrize(("method", "path", "body", "field", "signed_in"), ACCOUNT_TEXT_FIELDS)
def test_lone_surrogates_in_account_text_are_refused(api_client, user, method, path, body, field, signed_in):
    """A lone UTF-16 surrogate cannot be encoded (a password hasher or the database would crash)."""
    client = bearer_client(user) if signed_in else api_client
    body = _account_body(user, body)
    body[field] = "__lone__"

    response = send(client, method, path, raw=raw_json(body, lone='"ab\\ud800cd"'))

    assert_refused(response, "non_field_errors")


def test_lone_surrogate_in_activity_text_is_refused(auth_client):
    response = auth_client.post(ACTIVITIES, raw_json(activity_payload(title="__t__"), t='"\\udc00"'),
                                content_type="application/json")

    assert_refused(response, "non_field_errors")


LIST_TEXT_PARAMS = ["activity_type", "type", "tag", "search", "ordering"]
LIST_OTHER_PARAMS = ["start_date", "end_date", "min_distance_km", "max_distance_km", "min_duration", "max_duration",
                     "include_deleted"]
QUERY_PARAMS = [
    *[(ACTIVITIES, p) for p in [*LIST_TEXT_PARAMS, *LIST_OTHER_PARAMS, "limit", "offset"]],
    *[(CSV, p) for p in [*LIST_TEXT_PARAMS[:4], *LIST_OTHER_PARAMS[:-1]]],
    (STATS, "start_date"), (STATS, "end_date"),
    (TOP_TAGS, "limit"),
    (TRENDS, "months"), (TRENDS, "activity_type"),
    (JOBS, "limit"), (JOBS, "offset"),
]


@pytest.mark.parametrize("char", CONTROL)
@pytest.mark.parametrize(("url", "param"), QUERY_PARAMS)
def test_control_characters_in_query_parameters_are_a_400_naming_them(auth_client, activity, url, param, char):
    response = auth_client.get(url, {param: f"ru{char}n"})

    assert_refused(response, param)


@pytest.mark.parametrize("url", [ACTIVITIES, CSV])
@pytest.mark.parametrize("param", ["tag", "activity_type", "type"])
def test_control_characters_in_one_of_several_values_name_the_parameter(auth_client, url, param):
    response = auth_client.get(f"{url}?{param}=running,ru%01n&{param}=cycling")

    assert_refused(response, param)


@pytest.mark.parametrize(("url", "param", "value"), [
    (ACTIVITIES, "tag", "a" * 51), (ACTIVITIES, "activity_type", "r" * 51), (ACTIVITIES, "type", "r" * 51),
    (ACTIVITIES, "search", "s" * 201), (ACTIVITIES, "tag", ",".join(f"t{n}" for n in range(51))),
    (CSV, "tag", ",".join(f"t{n}" for n in range(70_000))), (TRENDS, "activity_type", "r" * 51),
])
def test_overlong_and_overcrowded_query_values_are_a_400_naming_them(auth_client, url, param, value):
    """No value longer than the longest name it could match, no IN list of thousands of values."""
    assert_refused(auth_client.get(url, {param: value}), param)


def test_query_parameter_names_with_control_characters_are_ignored_like_unknown_ones(auth_client, activity):
    response = auth_client.get(f"{ACTIVITIES}?%00=1&ta%00g=x&%1b[31m=1")

    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_too_many_query_parameters_are_a_400_problem(auth_client):
    query = "&".join(f"tag=t{n}" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))

    assert_refused(auth_client.get(f"{ACTIVITIES}?{query}"), "non_field_errors")


@pytest.mark.parametrize(("field", "length"), [("activity_type", 51), ("title", 256), ("description", 1001),
                                               ("notes", 2001), ("tags", 51)])
def test_overlong_activity_text_is_refused(auth_client, field, length):
    response = auth_client.post(ACTIVITIES, with_text(activity_payload(), field, "x" * length), format="json")

    assert_refused(response, field)


def test_control_characters_in_a_photo_file_name_are_harmless(auth_client, activity):
    image = jpeg()
    image.name = "ph\x00o\x1bto.jpg"

    response = auth_client.post(f"{ACTIVITIES}/{activity.pk}/photos", {"photos": [image]}, format="multipart")

    assert_not_a_server_error(response)


# --- extreme numbers -------------------------------------------------------------------------------

HUGE_INT = "100000000000000000000000000000"
NUMBER_VALUES = [HUGE_INT, "-1", "1e309", "-1e309", '"NaN"', '"Infinity"', '"1e309"', "1.5", "true", '{"n": 1}',
                 "[1]", '"abc"', '""', "null"]
NUMERIC_FIELDS = ["duration_minutes", "distance_km", "calories_burned"]


def _refusable(field: str, raw: str) -> bool:
    """Values that are not valid for the field: null (or DRF's empty string) is "not recorded"
    for an optional distance or calorie count, and 1.5 is a valid distance."""
    if raw in {"null", '""'} and field != "duration_minutes":
        return False
    return not (raw == "1.5" and field == "distance_km")


@pytest.mark.parametrize(("field", "raw"), [(f, r) for f in NUMERIC_FIELDS for r in NUMBER_VALUES if _refusable(f, r)])
def test_extreme_and_mistyped_numbers_in_an_activity_are_refused(auth_client, field, raw):
    response = auth_client.post(ACTIVITIES, raw_json(activity_payload(**{field: "__v__"}), v=raw),
                                content_type="application/json")

    assert_refused(response, field)


def test_a_number_with_thousands_of_digits_is_a_400(auth_client):
    response = auth_client.post(ACTIVITIES, raw_json(activity_payload(duration_minutes="__v__"), v="9" * 10_000),
                                content_type="application/json")

    assert_refused(response, "non_field_errors")


@pytest.mark.parametrize("raw", [HUGE_INT, "-1", "0", "1e309", '"1"', "1.5", '{"id": 1}', "[1]", "true", "null"])
def test_extreme_and_mistyped_ids_in_a_batch_delete_are_refused(auth_client, raw):
    response = auth_client.delete(BATCH, raw_json({"ids": ["__v__"]}, v=raw), content_type="application/json")

    if raw in {'"1"', HUGE_INT}:  # a numeric string is an id like any other; a huge one is no activity
        assert response.status_code == 200
        assert response.json()["deleted"] == 0
    else:
        assert_refused(response, "ids")


QUERY_NUMBERS = [HUGE_INT, "-1", "1e309", "NaN", "Infinity", "1.5", "0x10", "1_000", " 5 "]
NUMERIC_QUERY_PARAMS = [
    *[(ACTIVITIES, p) for p in ["min_distance_km", "max_distance_km", "min_duration", "max_duration", "limit",
                                "offset"]],
    *[(CSV, p) for p in ["min_distance_km", "max_distance_km", "min_duration", "max_duration"]],
    (TOP_TAGS, "limit"), (TRENDS, "months"), (JOBS, "limit"), (JOBS, "offset"),
]


@pytest.mark.parametrize("value", QUERY_NUMBERS)
@pytest.mark.parametrize(("url", "param"), NUMERIC_QUERY_PARAMS)
def test_extreme_numbers_in_query_parameters_never_reach_a_5xx(auth_client, activity, url, param, value):
    response = auth_client.get(url, {param: value})

    assert_not_a_server_error(response)
    if response.status_code == 400:
        assert_refused(response, param)
    if value in {"NaN", "Infinity", "-1"}:
        assert_refused(response, param)


@pytest.mark.parametrize("path", [
    f"{ACTIVITIES}/{HUGE_INT}", f"{ACTIVITIES}/{HUGE_INT}/restore", f"{ACTIVITIES}/{HUGE_INT}/photos",
    f"{ACTIVITIES}/1/photos/{HUGE_INT}", f"{ACTIVITIES}/0", f"{ACTIVITIES}/-5", f"{ACTIVITIES}/1e309",
    f"{JOBS}/00000000-0000-0000-0000-000000000000/status", f"{JOBS}/not-a-uuid/status",
])
@pytest.mark.parametrize("method", ["get", "patch", "delete", "post"])
def test_extreme_ids_in_paths_are_404_or_405_problems(auth_client, path, method):
    response = getattr(auth_client, method)(path, {}, format="json")

    assert response.status_code in (404, 405), (response.status_code, response.content)
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE


# --- extreme dates ---------------------------------------------------------------------------------

EXTREME_DATETIMES = ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "1899-12-31T23:59:59Z",
                     "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-01:00", "10000-01-01T00:00:00Z",
                     "2026-02-30T10:00:00Z", "2026-01-10T07:00:00", "1700000000"]


@pytest.mark.parametrize("value", EXTREME_DATETIMES)
@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_extreme_activity_dates_are_refused(auth_client, activity, method, value):
    url = ACTIVITIES if method == "post" else f"{ACTIVITIES}/{activity.pk}"

    response = getattr(auth_client, method)(url, activity_payload(activity_date=value), format="json")

    assert_refused(response, "activity_date")


@pytest.mark.parametrize("raw", ["1700000000", "[]", "{}", "true", "null"])
def test_mistyped_activity_dates_are_refused(auth_client, raw):
    response = auth_client.post(ACTIVITIES, raw_json(activity_payload(activity_date="__v__"), v=raw),
                                content_type="application/json")

    assert_refused(response, "activity_date")


def test_the_earliest_activity_date_is_accepted_and_a_moment_before_is_not(auth_client):
    earliest = rules.EARLIEST_ACTIVITY_DATE

    on = auth_client.post(ACTIVITIES, activity_payload(activity_date=earliest.isoformat()), format="json")
    before = auth_client.post(
        ACTIVITIES, activity_payload(activity_date=(earliest - dt.timedelta(seconds=1)).isoformat()), format="json"
    )

    assert on.status_code == 201, on.content
    assert_refused(before, "activity_date")


EXTREME_QUERY_DATES = ["0001-01-01", "9999-12-31", "10000-01-01", "1899-12-31", "0001-01-01T00:00:00+01:00",
                       "9999-12-31T23:59:59-01:00", "1899-12-31T23:59:59Z"]
DATE_QUERY_PARAMS = [(url, p) for url in (ACTIVITIES, CSV, STATS) for p in ("start_date", "end_date")]


@pytest.mark.parametrize("value", EXTREME_QUERY_DATES)
@pytest.mark.parametrize(("url", "param"), DATE_QUERY_PARAMS)
def test_extreme_dates_in_query_parameters_are_a_400_naming_them(auth_client, activity, url, param, value):
    response = auth_client.get(url, {param: value})

    assert_refused(response, param)


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31", "10000-01-01", "1899-12-31", "2026-02-30"])
@pytest.mark.parametrize("field", ["start_date", "end_date"])
def test_extreme_dates_of_a_report_are_refused(auth_client, field, value):
    response = auth_client.post(PDF, {field: value}, format="json")

    assert_refused(response, field)


@pytest.mark.parametrize("field", ["start_date", "end_date"])
def test_a_report_is_made_of_days_not_instants(auth_client, field):
    response = auth_client.post(PDF, {field: "2026-01-01T00:00:00Z"}, format="json")

    assert_refused(response, field)


@pytest.mark.parametrize("raw", ["20260101", "[]", '{"y": 2026}', "true"])
@pytest.mark.parametrize("field", ["start_date", "end_date"])
def test_mistyped_dates_of_a_report_are_refused(auth_client, field, raw):
    response = auth_client.post(PDF, raw_json({field: "__v__"}, v=raw), content_type="application/json")

    assert_refused(response, field)


def test_query_dates_from_the_earliest_day_to_a_year_ahead_are_accepted(auth_client, activity):
    today = timezone.localdate()
    ahead = today + rules.QUERY_DATE_HORIZON

    for url in (ACTIVITIES, CSV, STATS):
        response = auth_client.get(url, {"start_date": rules.EARLIEST_ACTIVITY_DAY.isoformat(),
                                         "end_date": ahead.isoformat()})
        assert response.status_code == 200, (url, response.content)
    beyond = auth_client.get(STATS, {"end_date": (ahead + dt.timedelta(days=2)).isoformat()})
    assert_refused(beyond, "end_date")


# --- statistics ranges with datetimes ---------------------------------------------------------------


def test_statistics_range_accepts_rfc3339_datetimes_as_instants(auth_client, user):
    ActivityFactory(user=user, activity_date=dt.datetime(2026, 1, 1, 6, 59, tzinfo=dt.UTC))
    ActivityFactory(user=user, activity_date=dt.datetime(2026, 1, 1, 7, 0, tzinfo=dt.UTC), duration_minutes=40)
    ActivityFactory(user=user, activity_date=dt.datetime(2026, 1, 1, 9, 0, tzinfo=dt.UTC), duration_minutes=50)

    body = auth_client.get(STATS, {"start_date": "2026-01-01T07:00:00Z", "end_date": "2026-01-01T10:00:00+01:00"})

    assert body.status_code == 200, body.content
    data = body.json()
    assert (data["total_activities"], data["total_duration_minutes"]) == (2, 90)
    assert (data["start_date"], data["end_date"]) == ("2026-01-01T07:00:00Z", "2026-01-01T09:00:00Z")


def test_statistics_range_mixes_a_datetime_and_a_local_day(auth_client, user):
    user.timezone = "Europe/Paris"
    user.save(update_fields=["timezone"])
    ActivityFactory(user=user, activity_date=dt.datetime(2026, 1, 2, 22, 30, tzinfo=dt.UTC))  # Jan 2, 23:30 Paris
    ActivityFactory(user=user, activity_date=dt.datetime(2026, 1, 2, 23, 30, tzinfo=dt.UTC))  # Jan 3 in Paris

    data = auth_client.get(STATS, {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-01-02"}).json()

    assert data["total_activities"] == 1
    assert (data["start_date"], data["end_date"]) == ("2026-01-01T00:00:00Z", "2026-01-02")


def test_statistics_range_with_datetimes_in_the_wrong_order_is_a_400(auth_client):
    response = auth_client.get(STATS, {"start_date": "2026-01-02T00:00:00Z", "end_date": "2026-01-01T23:00:00Z"})

    assert_refused(response, "start_date")


def test_statistics_range_refuses_a_naive_datetime(auth_client):
    assert_refused(auth_client.get(STATS, {"start_date": "2026-01-02T00:00:00"}), "start_date")


# --- wrong types -----------------------------------------------------------------------------------

WRONG_TYPES = ['["a"]', '{"a": "b"}', "true"]


@pytest.mark.parametrize("raw", WRONG_TYPES)
@pytest.mark.parametrize("field", ["activity_type", "title", "description", "notes"])
def test_lists_objects_and_booleans_for_activity_text_are_refused(auth_client, field, raw):
    response = auth_client.post(ACTIVITIES, raw_json(activity_payload(**{field: "__v__"}), v=raw),
                                content_type="application/json")

    assert_refused(response, field)


@pytest.mark.parametrize("raw", ['"morning"', '{"a": "b"}', '[["nested"]]', '[{"a": 1}]', "[null]", '[""]'])
def test_mistyped_tags_are_refused(auth_client, raw):
    response = auth_client.post(ACTIVITIES, raw_json(activity_payload(tags="__v__"), v=raw),
                                content_type="application/json")

    assert_refused(response, "tags")


@pytest.mark.parametrize("raw", [*WRONG_TYPES, '"x"', "1"])
@pytest.mark.parametrize(("path", "field"), [(REGISTER, "username"), (REGISTER, "email"), (REGISTER, "password"),
                                             (LOGIN, "email"), (LOGIN, "password"), (REFRESH, "refresh")])
def test_wrong_types_in_account_bodies_never_reach_a_5xx(api_client, path, field, raw):
    body = {"username": "newcomer", "email": "new@example.com", "password": "sturdy-Lantern-42", "refresh": "x"}
    body[field] = "__v__"

    response = api_client.post(path, raw_json(body, v=raw), content_type="application/json")

    assert_not_a_server_error(response)
    if raw in WRONG_TYPES:
        assert_refused(response, field)


@pytest.mark.parametrize("raw", ['{"a": 1}', '"abc"', "[]", "null", "[" + ",".join(["{}"] * 51) + "]"])
def test_mistyped_batch_lists_are_refused(auth_client, raw):
    response = auth_client.post(BATCH, raw_json({"activities": "__v__"}, v=raw), content_type="application/json")

    assert_refused(response, "activities")


@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
@pytest.mark.parametrize("raw", ["[]", '"text"', "42", "null", "true"])
def test_a_body_that_is_not_an_object_is_never_a_5xx(auth_client, activity, method, path, raw):
    response = send(auth_client, method, endpoint_path(path, activity), raw=raw)

    assert_not_a_server_error(response)
    if response.status_code == 400:
        assert response.json()["errors"]


# --- duplicated and empty query parameters ----------------------------------------------------------


@pytest.mark.parametrize(("url", "param", "first", "last"), [
    (ACTIVITIES, "limit", "1", "0"),
    (ACTIVITIES, "start_date", "2026-01-01", "0001-01-01"),
    (ACTIVITIES, "ordering", "-activity_date", "nope"),
    (ACTIVITIES, "include_deleted", "false", "maybe"),
    (CSV, "end_date", "2026-01-01", "9999-12-31"),
    (STATS, "start_date", "2026-01-01", "0001-01-01"),
    (TOP_TAGS, "limit", "1", "0"),
    (TRENDS, "months", "1", "1000"),
])
def test_a_repeated_single_value_parameter_is_judged_by_its_last_value(auth_client, activity, url, param, first,
                                                                       last):
    response = auth_client.get(f"{url}?{param}={first}&{param}={last}")

    assert_refused(response, param)
    assert auth_client.get(f"{url}?{param}={last}&{param}={first}").status_code == 200


EMPTY_IS_ABSENT = [
    *[(ACTIVITIES, p) for p in [*LIST_TEXT_PARAMS, *LIST_OTHER_PARAMS, "limit", "offset"]],
    *[(CSV, p) for p in [*LIST_TEXT_PARAMS, *LIST_OTHER_PARAMS]],
    (STATS, "start_date"), (STATS, "end_date"), (TOP_TAGS, "limit"), (TRENDS, "months"), (TRENDS, "activity_type"),
    (JOBS, "limit"), (JOBS, "offset"),
]


@pytest.mark.parametrize(("url", "param"), EMPTY_IS_ABSENT)
def test_an_empty_query_value_means_the_parameter_is_absent(auth_client, user, url, param):
    """What browsers send for empty form fields (?type=&start=) is no filter at all."""
    ActivityFactory(user=user, tags=["morning"])
    ActivityFactory(user=user, activity_type="yoga", distance_km=None)
    ActivityFactory(user=user, deleted_at=timezone.now())

    absent = auth_client.get(url)
    empty = auth_client.get(f"{url}?{param}=")
    spaces = auth_client.get(f"{url}?{param}=%20%20")

    assert absent.status_code == empty.status_code == 200, empty
    assert body_of(empty) == body_of(absent)
    assert spaces.status_code in (200, 400)  # blank but not empty: judged like any value
    if spaces.status_code == 400:
        assert_refused(spaces, param)


# --- exports ---------------------------------------------------------------------------------------


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_the_csv_never_contains_deleted_activities(auth_client, user):
    ActivityFactory(user=user, title="kept")
    ActivityFactory(user=user, title="deleted", deleted_at=timezone.now())

    for query in ({}, {"include_deleted": "true"}, {"include_deleted": "1"}):
        text = b"".join(auth_client.get(CSV, query).streaming_content).decode()
        assert "kept" in text and "deleted" not in text, query


def test_the_csv_is_oldest_first_whatever_the_ordering(auth_client, user):
    old = ActivityFactory(user=user, activity_date=timezone.now() - dt.timedelta(days=3), duration_minutes=10)
    new = ActivityFactory(user=user, activity_date=timezone.now() - dt.timedelta(days=1), duration_minutes=90)

    for ordering in ("", "-activity_date", "-duration_minutes", "nonsense"):
        response = auth_client.get(CSV, {"ordering": ordering})
        lines = b"".join(response.streaming_content).decode().splitlines()[1:]
        assert [int(line.split(",")[0]) for line in lines] == [old.pk, new.pk], ordering


def test_a_job_list_with_jobs_survives_hostile_paging(auth_client, user):
    ExportJobFactory(user=user)

    for query in ({"offset": HUGE_INT}, {"limit": HUGE_INT}, {"offset": "-1"}):
        assert_not_a_server_error(auth_client.get(JOBS, query))


# --- huge bodies -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), JSON_ENDPOINTS)
def test_a_body_over_the_upload_limit_is_a_413_problem(auth_client, activity, method, path):
    filler = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = send(auth_client, method, endpoint_path(path, activity), raw=json.dumps({"notes": filler}))

    assert_problem(response, 413, "payload-too-large")


def test_a_wide_document_under_the_limit_is_parsed_quickly(auth_client):
    """The depth check is linear: a body of a million empty lists costs no more than parsing it."""
    import time

    wide = "[" + ",".join(["[]"] * 600_000) + "]"
    started = time.perf_counter()
    response = auth_client.post(ACTIVITIES, raw_json(activity_payload(extra="__w__"), w=wide),
                                content_type="application/json")
    elapsed = time.perf_counter() - started

    assert response.status_code == 201, response.content[:300]
    assert elapsed < 5, elapsed


# --- the browser: the same rules -------------------------------------------------------------------


def test_the_browser_activity_form_refuses_control_characters_and_year_one(client, user):
    client.force_login(user)
    data = {"activity_type": "running", "title": "Run\x1b", "activity_date": "0001-01-01T00:00",
            "duration_minutes": "30", "notes": "ok\r\nfine", "description": "a\x00b"}

    response = client.post("/activities/new", data)

    assert response.status_code == 400
    form = response.context["form"]
    assert {"title", "activity_date", "description"} <= set(form.errors), form.errors
    assert "notes" not in form.errors


@pytest.mark.parametrize("tags", ["x" * 51, ",".join(f"t{n}" for n in range(11)), "ok, n\x01o"])
def test_the_browser_activity_form_shows_a_tag_problem_on_the_tags_field(client, user, tags):
    """clean_tags used to re-raise the rules' {"tags": [...]} error inside a field's clean (a
    TypeError, so a 500 page)."""
    client.force_login(user)
    data = {"activity_type": "running", "activity_date": "2026-01-10T07:00", "duration_minutes": "30",
            "tags": tags}

    response = client.post("/activities/new", data)

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["tags"]


@pytest.mark.parametrize("query", ["type=ru%00n", "tag=%01", "search=a%00b", "start=0001-01-01", "end=9999-12-31"])
def test_the_browser_list_filters_refuse_hostile_values(client, user, query):
    client.force_login(user)

    response = client.get(f"/activities?{query}")

    assert response.status_code == 200
    assert response.context["filters"].errors


@pytest.mark.parametrize("query", ["type=ru%00n", "tag=%01", "start=0001-01-01", "end=9999-12-31"])
def test_the_browser_csv_refuses_hostile_values_before_streaming(client, user, query):
    client.force_login(user)

    response = client.get(f"/exports/csv?{query}")

    assert response.status_code == 400
    assert not response.streaming


def test_the_browser_login_counts_the_account_with_the_api(client, api_client, user):
    for n in range(3):
        api_client.post(LOGIN, {"username": user.username.upper(), "password": "wrong-password-1"}, format="json",
                        REMOTE_ADDR=f"198.51.100.{n + 1}")
    for n in range(2):
        client.post("/accounts/login", {"identifier": user.email, "password": "wrong-password-1"},
                    REMOTE_ADDR=f"198.51.100.{n + 10}")

    response = client.post("/accounts/login", {"identifier": user.username, "password": DEFAULT_PASSWORD},
                           REMOTE_ADDR="198.51.100.50")

    assert response.status_code == 400
    assert "Too many attempts" in response.content.decode()


def test_the_login_throttle_treats_unknown_accounts_like_known_ones(api_client):
    """Unknown identifiers are counted by their case-folded text: the same 5 attempts, the same
    401 answers, then the same 429."""
    UserFactory(username="known", email="known@example.com")
    for who in ("known", "ghost"):
        answers = [api_client.post(LOGIN, {"username": variant, "password": "wrong-password-1"}, format="json",
                                   REMOTE_ADDR=f"203.0.113.{n}").status_code
                   for n, variant in enumerate([who, who.upper(), who.title(), f" {who} ", who, who])]
        assert answers == [401] * 5 + [429], (who, answers)


@pytest.mark.parametrize("identifier", ["a\x00b@example.com", "x" * 5000, "\ud800@example.com"])
def test_the_login_throttle_never_looks_up_an_unusable_identifier(api_client, identifier):
    body = json.dumps({"email": identifier, "password": "wrong-password-1"})

    response = api_client.post(LOGIN, body, content_type="application/json")

    assert_not_a_server_error(response)
    assert response.status_code == 400

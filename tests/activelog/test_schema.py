"""OpenAPI schema and self-hosted docs: the schema describes what the server sends."""

import re

import pytest
import yaml
from django.core.management import call_command

from tests.support.factories import ActivityFactory

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
ALL_FILTERS = {"activity_type", "type", "start_date", "end_date", "tag", "search", "min_distance_km",
               "max_distance_km", "min_duration", "max_duration", "ordering", "include_deleted"}
PUBLIC_OPERATIONS = {("POST", "/api/v1/auth/register"), ("POST", "/api/v1/auth/login"),
                     ("POST", "/api/v1/auth/refresh")}


@pytest.fixture
def schema(client, db) -> dict:
    response = client.get("/api/schema")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def header(schema: dict, entry: dict) -> dict:
    """A response header, following a $ref into components/headers."""
    if "$ref" in entry:
        return schema["components"]["headers"][entry["$ref"].rsplit("/", 1)[-1]]
    return entry


def test_schema_generates_without_warnings_and_validates(db, tmp_path):
    # What `make schema-check` runs: any warning (an unknown authentication class, a view whose
    # serializer cannot be guessed) fails it.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3.0.3")


def test_schema_describes_every_v1_endpoint(schema):
    paths = set(schema["paths"])
    expected = {
        "/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout",
        "/api/v1/users/me", "/api/v1/users/me/password", "/api/v1/activities", "/api/v1/activities/{activity_id}",
        "/api/v1/activities/{activity_id}/restore", "/api/v1/activities/batch", "/api/v1/tags",
        "/api/v1/jobs", "/api/v1/jobs/{job_id}/status", "/api/v1/jobs/{job_id}/download",
        "/api/v1/activities/export/csv", "/api/v1/activities/export/pdf", "/api/v1/activities/stats",
    }
    assert expected <= paths
    list_params = {p["name"] for p in schema["paths"]["/api/v1/activities"]["get"]["parameters"]}
    assert {"limit", "offset", *ALL_FILTERS} <= list_params
    create = schema["paths"]["/api/v1/activities"]["post"]["responses"]
    assert "201" in create and "400" in create
    batch = schema["paths"]["/api/v1/activities/batch"]["post"]["responses"]
    assert {"201", "207"} <= set(batch)


def test_every_operation_has_a_summary(schema):
    missing = [(method, path) for method, path, operation in operations(schema) if not operation.get("summary")]
    assert missing == []


def test_every_error_response_is_a_problem(schema):
    for method, path, operation in operations(schema):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {"application/problem+json": {"schema": PROBLEM_REF}}, (method, path)
                assert response["description"], (method, path, status)
            else:
                assert "application/problem+json" not in response.get("content", {}), (method, path, status)
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "instance", "request_id"}
    assert {"errors", "trace_id"} <= set(problem["properties"])


def test_error_statuses_follow_what_the_operation_is(schema):
    for method, path, operation in operations(schema):
        statuses = set(operation["responses"])
        where = (method, path)
        public = where in PUBLIC_OPERATIONS
        assert {"429", "500", "503"} <= statuses, where
        # 401 on every operation that needs a token; of the public ones only login and refresh
        # (wrong credentials, a spent refresh token) answer it.
        assert ("401" in statuses) == (not public or path.endswith(("/login", "/refresh"))), where
        assert ("403" in statuses) == (not public and method != "GET"), where
        assert ("404" in statuses) == ("{" in path), where
        has_input = "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", []))
        assert ("400" in statuses) == has_input, where
        assert ({"413", "415"} <= statuses) == ("requestBody" in operation), where
    jobs = schema["paths"]["/api/v1/jobs"]["get"]["responses"]
    assert {"200", "400", "401", "429", "500", "503"} <= set(jobs)
    assert "409" in schema["paths"]["/api/v1/jobs/{job_id}/download"]["get"]["responses"]


def test_response_headers_are_documented(schema):
    for method, path, operation in operations(schema):
        for status, response in operation["responses"].items():
            headers = {name: header(schema, entry) for name, entry in response.get("headers", {}).items()}
            assert headers["X-Request-ID"]["required"] is True, (method, path, status)
            assert ("Retry-After" in headers) == (status in ("429", "503")), (method, path, status)
            assert ("WWW-Authenticate" in headers) == (status == "401"), (method, path, status)
            located = (method, path, status) in {("POST", "/api/v1/activities", "201"),
                                                 ("POST", "/api/v1/activities/export/pdf", "202")}
            assert ("Location" in headers) == located, (method, path, status)
            cached = path.startswith(("/api/v1/users/me/stats", "/api/v1/users/me/summary", "/api/v1/users/me/tags",
                                      "/api/v1/users/me/streaks", "/api/v1/analytics", "/api/v1/activities/stats"))
            assert ("X-Cache" in headers) == (cached and status == "200"), (method, path, status)
    retry_after = schema["components"]["headers"]["Retry-After"]["schema"]
    assert retry_after["type"] == "integer"


def test_documented_headers_are_what_the_server_sends(auth_client, api_client, user):
    created = auth_client.post("/api/v1/activities", {"activity_type": "running", "duration_minutes": 30,
                                                      "activity_date": "2026-03-01T07:00:00Z"})
    assert created.status_code == 201
    assert created["Location"].endswith(f"/api/v1/activities/{created.json()['id']}")
    assert created["X-Request-ID"]
    stats = auth_client.get("/api/v1/users/me/stats/weekly")
    assert stats["X-Cache"] in ("HIT", "MISS")
    anonymous = api_client.get("/api/v1/users/me")
    assert anonymous.status_code == 401
    assert anonymous["Content-Type"] == "application/problem+json"
    assert anonymous["WWW-Authenticate"].startswith("Bearer")


def test_activity_fields(schema, auth_client, user):
    components = schema["components"]["schemas"]
    output = components["ActivityOutput"]["properties"]
    assert output["pace_min_per_km"]["nullable"] is True
    assert output["distance_km"]["nullable"] is True
    for name in ("ActivityInputRequest", "PatchedActivityInputRequest"):
        distance = components[name]["properties"]["distance_km"]
        assert distance["multipleOf"] == 0.01 and distance["nullable"] is True
        assert (distance["minimum"], distance["maximum"]) == (0, 1000)
    # The server agrees: an activity without a distance has no pace.
    ActivityFactory(user=user, distance_km=None)
    assert auth_client.get("/api/v1/activities").json()["results"][0]["pace_min_per_km"] is None


def test_pagination_parameters(schema):
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/jobs"]["get"]["parameters"]}
    assert parameters["limit"]["schema"]["minimum"] == 1
    assert parameters["offset"]["schema"]["minimum"] == 0
    page = schema["components"]["schemas"]["PaginatedJobList"]
    assert set(page["required"]) == {"count", "next", "previous", "results"}


def test_delete_bodies_are_documented_and_required(schema):
    for path, component in (("/api/v1/activities/batch", "BatchDeleteRequest"),
                            ("/api/v1/users/me", "AccountDeleteRequest")):
        body = schema["paths"][path]["delete"]["requestBody"]
        assert body["required"] is True
        assert body["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{component}"}
    assert schema["components"]["schemas"]["BatchDeleteRequest"]["required"] == ["ids"]
    assert schema["components"]["schemas"]["AccountDeleteRequest"]["required"] == ["password"]
    for path in ("/api/v1/activities/{activity_id}", "/api/v1/activities/{activity_id}/photos/{photo_id}"):
        assert "requestBody" not in schema["paths"][path]["delete"]


def test_login_needs_an_email_or_a_username(schema, api_client, db):
    login = schema["components"]["schemas"]["LoginRequest"]
    assert login["required"] == ["password"]
    assert login["anyOf"] == [{"required": ["email"]}, {"required": ["username"]}]
    refused = api_client.post("/api/v1/auth/login", {"password": "whatever-it-is"}, format="json")
    assert refused.status_code == 400


def test_pdf_report_documents_its_five_year_cap(schema):
    operation = schema["paths"]["/api/v1/activities/export/pdf"]["post"]
    assert "at most 5 years" in operation["description"]


def test_csv_export_documents_the_list_filters_it_accepts(schema):
    operation = schema["paths"]["/api/v1/activities/export/csv"]["get"]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(parameters) == ALL_FILTERS - {"include_deleted", "ordering"}
    listed = {p["name"]: p for p in schema["paths"]["/api/v1/activities"]["get"]["parameters"]}
    for name, parameter in parameters.items():
        assert parameter == listed[name], name
        assert parameter.get("description") or name.startswith(("min_", "max_")), name
    assert "oldest activity first" in operation["description"]
    assert list(operation["responses"]["200"]["content"]) == ["text/csv"]


def test_empty_query_values_are_documented_as_absent(schema, auth_client):
    assert "an empty value (`?start_date=`, `?limit=`) is the same as leaving the parameter out" in (
        schema["info"]["description"]
    )
    for method, path, operation in operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query":
                assert parameter["allowEmptyValue"] is True, (method, path, parameter["name"])
    assert auth_client.get("/api/v1/activities?limit=&start_date=&tag=").status_code == 200
    assert auth_client.get("/api/v1/analytics/trends/monthly?months=").status_code == 200


def test_text_fields_of_request_bodies_refuse_nul(schema, auth_client):
    register = schema["components"]["schemas"]["RegisterRequest"]["properties"]
    assert register["password"]["pattern"] == "^[^\\x00]*$"
    assert register["username"]["pattern"] == "^[A-Za-z0-9_.-]{3,30}$"  # its own rule stays
    assert "pattern" not in schema["components"]["schemas"]["ActivityOutput"]["properties"]["title"]
    response = auth_client.post("/api/v1/auth/logout", {"refresh": "a\x00b"}, format="json")
    assert response.status_code == 400


@pytest.mark.parametrize("url", ["/api/docs", "/api/redoc"])
def test_docs_pages_use_only_self_hosted_assets(client, db, url):
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, html
    for asset in assets:
        assert not asset.startswith(("http://", "https://", "//")), asset
    scripts = [a for a in assets if a.endswith(".js")]
    assert scripts
    for script in scripts:
        assert client.get(script).status_code == 200, script
    assert "/api/schema" in html


@pytest.mark.parametrize("url", ["/api/docs", "/api/redoc"])
def test_docs_pages_are_exempt_from_the_content_security_policy(client, db, url):
    # Swagger UI and Redoc run inline script; the rest of the site keeps the policy.
    assert "Content-Security-Policy" not in client.get(url)
    assert "script-src 'self'" in client.get("/")["Content-Security-Policy"]


def test_redoc_page_loads_no_fonts_or_images_from_elsewhere(client, db):
    html = client.get("/api/redoc").content.decode()
    assert "fonts.googleapis.com" not in html
    # Redoc's sidebar shows the Redocly logo from its CDN: images are kept to this site.
    assert """<meta http-equiv="Content-Security-Policy" content="img-src 'self' data:">""" in html

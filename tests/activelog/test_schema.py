"""OpenAPI schema and self-hosted docs."""

import re

import yaml


def test_schema_describes_every_v1_endpoint(client, db):
    response = client.get("/api/schema")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = set(schema["paths"])
    expected = {
        "/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout",
        "/api/v1/users/me", "/api/v1/users/me/password", "/api/v1/activities", "/api/v1/activities/{activity_id}",
        "/api/v1/activities/{activity_id}/restore", "/api/v1/activities/batch", "/api/v1/tags",
    }
    assert expected <= paths
    list_params = {p["name"] for p in schema["paths"]["/api/v1/activities"]["get"]["parameters"]}
    assert {"limit", "offset", "activity_type", "type", "start_date", "end_date", "tag", "search",
            "min_distance_km", "max_distance_km", "min_duration", "max_duration", "ordering",
            "include_deleted"} <= list_params
    create = schema["paths"]["/api/v1/activities"]["post"]["responses"]
    assert "201" in create and "400" in create
    batch = schema["paths"]["/api/v1/activities/batch"]["post"]["responses"]
    assert {"201", "207"} <= set(batch)


def test_docs_page_uses_only_self_hosted_assets(client, db):
    response = client.get("/api/docs")
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

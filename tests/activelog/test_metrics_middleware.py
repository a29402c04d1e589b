"""activelog.middleware.MetricsMiddleware: django-prometheus's per-view series, looked up once, with
a bounded method label."""

from prometheus_client import REGISTRY

from tests.support.api import ME

LATENCY = "django_http_requests_latency_seconds_by_view_method_count"
RESPONSES = "django_http_responses_total_by_status_view_method_total"


def _value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _methods_in(name):
    return {sample.labels.get("method") for family in REGISTRY.collect() for sample in family.samples
            if sample.name == name}


def test_made_up_methods_share_one_series(auth_client):
    before = _value(LATENCY, view="users-me", method="<invalid method>")
    for method in ("BREW", "PROPFIND", "XYZZYQ"):
        response = auth_client.generic(method, ME)
        assert response.status_code == 405

    assert _value(LATENCY, view="users-me", method="<invalid method>") == before + 3
    assert _value(RESPONSES, status="405", view="users-me", method="<invalid method>") >= 3
    assert not {"BREW", "PROPFIND", "XYZZYQ"} & _methods_in(LATENCY)


def test_each_request_counted_once_in_its_series(auth_client):
    ok_before = _value(RESPONSES, status="200", view="users-me", method="GET")
    latency_before = _value(LATENCY, view="users-me", method="GET")
    patch_before = _value(LATENCY, view="users-me", method="PATCH")
    for _ in range(5):
        assert auth_client.get(ME).status_code == 200
    assert auth_client.patch(ME, {}, format="json").status_code == 200

    assert _value(RESPONSES, status="200", view="users-me", method="GET") == ok_before + 5
    assert _value(LATENCY, view="users-me", method="GET") == latency_before + 5
    assert _value(LATENCY, view="users-me", method="PATCH") == patch_before + 1

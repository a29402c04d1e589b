"""activelog.web.middleware's CSPMiddleware sets exactly the headers django-csp's would, on every
kind of response (its policy is built once; django-csp builds it per response), and its
MessageMiddleware builds the message storage only for a request that uses it."""

import pytest
from csp.decorators import csp_exempt, csp_replace, csp_update
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.utils.functional import empty

from activelog.web.middleware import CSPMiddleware

HEADERS = ("Content-Security-Policy", "Content-Security-Policy-Report-Only")


def plain(request):
    return HttpResponse("ok")


def with_nonce(request):
    return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>")


def already_set(request):
    response = HttpResponse("ok")
    response["Content-Security-Policy"] = "default-src 'none'"
    return response


VIEWS = {
    "plain": plain,
    "nonce": with_nonce,
    "header set by the view": already_set,
    "exempt": csp_exempt()(plain),
    "update": csp_update({"img-src": "https://img.example.com"})(plain),
    "replace": csp_replace({"script-src": ["https://js.example.com"]})(plain),
    "not found": lambda request: HttpResponse("missing", status=404),
}


def headers(middleware_class, view, path):
    request = RequestFactory().get(path)
    response = middleware_class(view)(request)
    values = {name: response.get(name) for name in HEADERS}
    nonce = getattr(request, "_csp_nonce", None)
    if nonce:  # random per request: compare the policies around it
        values = {name: value.replace(nonce, "<nonce>") if value else value for name, value in values.items()}
    return values


SETTINGS = {
    "as shipped": {},
    "with a report-only policy": {"CONTENT_SECURITY_POLICY_REPORT_ONLY": {
        "DIRECTIVES": {"default-src": ["'self'"], "report-uri": "/csp-report"}}},
    "debug": {"DEBUG": True},
}


@pytest.mark.parametrize("settings_name", SETTINGS)
@pytest.mark.parametrize("view_name", VIEWS)
@pytest.mark.parametrize("path", ["/dashboard", "/api/v1/activities", "/api/docs/"])
def test_the_same_headers_as_django_csp(settings_name, view_name, path):
    with override_settings(**SETTINGS[settings_name]):
        ours = headers(CSPMiddleware, VIEWS[view_name], path)
        theirs = headers(DjangoCSPMiddleware, VIEWS[view_name], path)
    assert ours == theirs
    if view_name == "plain" and path == "/dashboard":
        assert ours["Content-Security-Policy"] and "'none'" in ours["Content-Security-Policy"]
        assert bool(ours["Content-Security-Policy-Report-Only"]) == (settings_name == "with a report-only policy")


def test_a_settings_change_gives_the_new_policy():
    before = headers(CSPMiddleware, plain, "/dashboard")["Content-Security-Policy"]
    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": ["https://changed.example.com"]}}):
        during = headers(CSPMiddleware, plain, "/dashboard")["Content-Security-Policy"]
    assert "https://changed.example.com" in during and "https://changed.example.com" not in before
    assert headers(CSPMiddleware, plain, "/dashboard")["Content-Security-Policy"] == before


def test_a_nonce_asked_for_after_the_headers_is_an_error():
    request = RequestFactory().get("/dashboard")
    CSPMiddleware(plain)(request)
    with pytest.raises(Exception, match="not available after the CSP header"):
        str(request.csp_nonce)


@pytest.mark.django_db
def test_a_message_survives_an_api_call_that_never_builds_the_storage_and_shows_once(client):
    from activities.models import Activity
    from tests.activities.test_web import form_data
    from tests.support.factories import UserFactory

    client.force_login(UserFactory())
    saved = client.post("/activities/new", form_data())
    assert saved.status_code == 302

    api = client.get("/api/v1/activities")
    assert api.status_code == 200 and api.json()["count"] == 1
    assert api.wsgi_request._messages._wrapped is empty  # never built: nothing read, nothing stored

    page = client.get(saved["Location"]).content.decode()
    assert "Activity saved." in page and Activity.objects.count() == 1
    assert "Activity saved." not in client.get(saved["Location"]).content.decode()

"""Content negotiation remembered per Accept header (activelog/api/negotiation.py) answers as DRF's."""

import pytest
from django.conf import settings
from django.http import Http404
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from activelog.api import negotiation
from activelog.api.negotiation import RememberedContentNegotiation
from tests.support.api import ME

HEADERS = [
    None,
    "*/*",
    "application/json",
    "application/json; indent=4",
    "application/*",
    "text/html, application/json;q=0.9, */*;q=0.8",
    "text/html",
    "application/xml",
    "application/json;q=0, text/html",
]


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(RememberedContentNegotiation, "_answers", {})
    return RememberedContentNegotiation._answers


def _request(accept=None, query=""):
    extra = {"HTTP_ACCEPT": accept} if accept is not None else {}
    return Request(APIRequestFactory().get(f"/x{query}", **extra))


def _answer(negotiator, renderer_classes, accept, query="", suffix=None):
    renderers = [cls() for cls in renderer_classes]
    try:
        renderer, media_type = negotiator.select_renderer(_request(accept, query), renderers, suffix)
    except (exceptions.NotAcceptable, Http404) as exc:
        return type(exc).__name__
    assert renderer in renderers  # one of this request's instances, never a kept one
    return type(renderer).__name__, renderers.index(renderer), media_type


@pytest.mark.parametrize("renderer_classes", [[JSONRenderer], [JSONRenderer, BrowsableAPIRenderer],
                                              [BrowsableAPIRenderer, JSONRenderer]])
@pytest.mark.parametrize("query", ["", "?format=json", "?format=api", "?format=csv"])
@pytest.mark.parametrize("accept", HEADERS)
def test_same_answer_as_drf_first_and_second_time(fresh, renderer_classes, query, accept):
    expected = _answer(DefaultContentNegotiation(), renderer_classes, accept, query)

    first = _answer(RememberedContentNegotiation(), renderer_classes, accept, query)
    second = _answer(RememberedContentNegotiation(), renderer_classes, accept, query)

    assert first == expected
    assert second == expected


def test_kept_per_header_and_renderers_refusals_not_kept(fresh):
    _answer(RememberedContentNegotiation(), [JSONRenderer], "application/json")
    _answer(RememberedContentNegotiation(), [JSONRenderer, BrowsableAPIRenderer], "application/json")
    _answer(RememberedContentNegotiation(), [JSONRenderer], "application/xml")

    assert set(fresh) == {
        ("application/json", None, (JSONRenderer,)),
        ("application/json", None, (JSONRenderer, BrowsableAPIRenderer)),
    }


def test_bounded(fresh, monkeypatch):
    monkeypatch.setattr(negotiation, "MAX_REMEMBERED", 3)
    for indent in range(6):
        assert _answer(RememberedContentNegotiation(), [JSONRenderer], f"application/json; indent={indent}") == (
            "JSONRenderer", 0, f"application/json; indent={indent}")
    long_header = "application/json, " + "x" * negotiation.MAX_HEADER_LENGTH
    assert _answer(RememberedContentNegotiation(), [JSONRenderer], long_header) == (
        "JSONRenderer", 0, "application/json")

    assert len(fresh) == 3


def test_in_use_by_the_api(auth_client, fresh):
    assert settings.REST_FRAMEWORK["DEFAULT_CONTENT_NEGOTIATION_CLASS"].endswith("RememberedContentNegotiation")
    for _ in range(2):
        indented = auth_client.get(ME, HTTP_ACCEPT="application/json; indent=4")
        refused = auth_client.get(ME, HTTP_ACCEPT="application/xml")

        assert indented.status_code == 200
        assert indented["Content-Type"] == "application/json"
        assert indented.content.startswith(b'{\n    "')  # the accepted media type's indent
        assert refused.status_code == 406
        assert refused["Content-Type"] == "application/problem+json"
    assert ("application/json; indent=4", None, (JSONRenderer,)) in fresh

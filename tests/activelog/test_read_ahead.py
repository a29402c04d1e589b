"""activelog/read_ahead.py: values read with the user serve their request once, then the cache."""

import pytest
from django.core.cache import cache
from django.core.signals import request_finished

from activelog import read_ahead


def test_a_value_read_ahead_is_used_once_then_the_cache_answers():
    cache.set("read-ahead-test", "in the cache")
    read_ahead.keep({"read-ahead-test": "read ahead", "other": None})

    assert read_ahead.get("read-ahead-test") == "read ahead"
    assert read_ahead.get("read-ahead-test") == "in the cache"
    assert read_ahead.get("other") is None  # a miss read ahead is a miss


@pytest.mark.django_db  # request_finished also closes old database connections, if a test opened one
def test_values_read_ahead_end_with_their_request():
    cache.set("read-ahead-test", "in the cache")
    read_ahead.keep({"read-ahead-test": "read ahead"})

    request_finished.send(sender=None)

    assert read_ahead.get("read-ahead-test") == "in the cache"

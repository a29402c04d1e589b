"""The SQL budget of every endpoint bench/load.py measures, authentication and session included.

Query counts, not timings: each endpoint runs the same number of statements whatever the page
size or the amount of history (the load test's figures rest on that). Lowering a budget is
welcome; raising one needs a reason in the commit.
"""

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.support.api import bearer_client
from tests.support.factories import ActivityFactory, UserFactory

# endpoint -> statements per request. The user behind the token or session comes from the
# authentication cache (accounts/user_cache.py) after the first request; the first costs one more.
BUDGET = {
    "list, user not cached yet": 3,  # user, count, page (with its tags and photo counts)
    "list": 1,  # the page: its total comes from the cache (activities.selectors.activity_count)
    "detail": 1,  # the activity with its tags and photo count
    "statistics, cold": 1,  # the monthly totals
    "statistics, cached": 0,
    "create": 10,  # the write transaction (activity, tags, links, the stats version: ids, then the bump), the answer
    "dashboard": 1,  # the latest five (statistics cached)
    "activities page": 2,  # count (the create above changed it), page
    "liveness": 0,
}


@pytest.fixture
def history(db):
    user = UserFactory()
    start = dt.datetime(2025, 1, 1, 7, tzinfo=dt.UTC)
    for day in range(0, 730, 7):
        ActivityFactory(user=user, activity_date=start + dt.timedelta(days=day), tags=[f"t{day % 5}", "base"])
    return user


def statements(client, method: str, path: str, **kwargs) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = getattr(client, method)(path, **kwargs)
    assert response.status_code in {200, 201}, (path, response.status_code)
    return len(captured.captured_queries)


def test_every_measured_endpoint_stays_within_its_sql_budget(history, client):
    cache.clear()
    api = bearer_client(history)
    detail = f"/api/v1/activities/{history.activities.order_by('activity_date')[50].pk}"
    monthly = "/api/v1/analytics/trends/monthly?months=12"
    client.force_login(history)

    seen = {
        "list, user not cached yet": statements(api, "get", "/api/v1/activities?limit=20"),
        "list": statements(api, "get", "/api/v1/activities?limit=20"),
        "detail": statements(api, "get", detail),
        "statistics, cold": statements(api, "get", monthly),
        "statistics, cached": statements(api, "get", monthly),
        "create": statements(api, "post", "/api/v1/activities", format="json", data={
            "activity_type": "running", "duration_minutes": 30, "activity_date": "2026-03-01T07:00:00Z",
            "tags": ["hills", "base"]}),
    }
    client.get("/dashboard")  # the statistics it shows are cached (the create above changed them)
    seen |= {
        "dashboard": statements(client, "get", "/dashboard"),
        "activities page": statements(client, "get", "/activities"),
        "liveness": statements(client, "get", "/health/live"),
    }
    over = {name: (count, BUDGET[name]) for name, count in seen.items() if count > BUDGET[name]}
    assert not over, f"over budget (seen, budget): {over}"


def test_the_list_and_its_page_do_not_grow_with_the_page_size(history, client):
    api = bearer_client(history)
    client.force_login(history)
    api.get("/api/v1/activities")  # the user and the total are cached from here on
    small, large = "/api/v1/activities?limit=5", "/api/v1/activities?limit=100"
    assert statements(api, "get", small) == statements(api, "get", large)
    client.get("/activities")
    assert statements(client, "get", "/activities") == statements(client, "get", "/activities?page=3")

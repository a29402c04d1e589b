"""The dashboard and the statistics page through Django's test client."""

import datetime as dt
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.utils import timezone

from activities.services import stats_version_bump
from tests.support.factories import ActivityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client, user):
    client.force_login(user)
    return client


def test_the_dashboard_shows_this_weeks_totals_streaks_chart_and_latest(browser, user):
    now = timezone.now()
    ActivityFactory(user=user, title="Today's run", distance_km=Decimal("10.00"), duration_minutes=50,
                    activity_date=now - dt.timedelta(minutes=30))
    body = browser.get("/dashboard").content.decode()
    assert "10.0 km" in body and "1 activity" in body
    assert "Current streak" in body and "1 day" in body
    assert "Today&#x27;s run" in body or "Today's run" in body
    assert body.count('role="img"') == 2  # distance and time per week, each with its table
    assert "<summary>The numbers</summary>" in body
    assert 'href="/activities/new"' in body


def test_the_dashboard_reads_in_miles_for_imperial_people(browser, user):
    user.units = "imperial"
    user.save(update_fields=["units"])
    ActivityFactory(user=user, distance_km=Decimal("16.09"), activity_date=timezone.now() - dt.timedelta(minutes=5))
    body = browser.get("/dashboard").content.decode()
    assert "10.0 mi" in body


def test_the_statistics_page_has_its_four_sections_with_charts_and_tables(browser, user):
    ActivityFactory(user=user, activity_type="running", distance_km=Decimal("5.00"), duration_minutes=30)
    ActivityFactory(user=user, activity_type="yoga", distance_km=None, duration_minutes=60)
    body = browser.get("/stats").content.decode()
    for heading in ["Monthly trends", "By type", "Personal records", "Streaks"]:
        assert f">{heading}</h2>" in body
    assert body.count('role="img"') == 3
    assert "6:00 /km" in body  # the running record's pace
    start = body.index('<svg', body.index("Streaks</h2>"))
    svg = body[start:body.index("</svg>", start) + 6]
    ET.fromstring(svg)  # well-formed


def test_statistics_pages_run_a_constant_number_of_queries(browser, user, django_assert_max_num_queries):
    ActivityFactory(user=user)
    for path in ["/dashboard", "/stats"]:
        # Both requests below follow a bump: both compute, both read the user again (the bump drops
        # it from the authentication cache).
        stats_version_bump(user_ids=[user.pk])
        with django_assert_max_num_queries(15) as few:
            browser.get(path)
        for n in range(30):
            ActivityFactory(user=user, activity_date=timezone.now() - dt.timedelta(days=n * 3 + 1))
        stats_version_bump(user_ids=[user.pk])  # the factory bypasses the services: compute again
        with django_assert_max_num_queries(len(few.captured_queries)):
            browser.get(path)

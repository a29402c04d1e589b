"""The exports page through Django's test client: CSV download, PDF reports and their progress
(the same flows in a real browser: tests/browser/test_exports.py)."""

import csv
import datetime as dt
import html
import io
import re

import pytest
from django.utils import timezone

from activities.models import ExportJob
from tests.support.factories import ActivityFactory, ExportJobFactory

pytestmark = pytest.mark.django_db


CSV_HEADER = ["id", "activity_type", "title", "description", "duration_minutes", "distance_km", "calories_burned",
              "notes", "activity_date", "tags", "created_at"]


@pytest.fixture
def browser(client, user):
    client.force_login(user)
    return client


def csv_of(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))


def body(response) -> str:
    return response.content.decode()


# --- the page ---------------------------------------------------------------------------------


def test_every_view_needs_a_signed_in_person(client, user):
    job = ExportJobFactory(user=user)
    for url in ["/exports", "/exports/csv", f"/exports/jobs/{job.pk}"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login")
    response = client.post("/exports/pdf", {"report-start": "2026-01-01", "report-end": "2026-01-31"})
    assert response.status_code == 302 and not ExportJob.objects.filter(user=user).exclude(pk=job.pk).exists()


def test_the_empty_page_has_both_forms_and_says_there_are_no_reports(browser, user):
    user.timezone = "Pacific/Auckland"
    user.save(update_fields=["timezone"])
    page = body(browser.get("/exports"))
    assert ">Download CSV</button>" in page and ">Create PDF report</button>" in page
    assert "No reports yet" in page
    today = timezone.localtime(timezone.now(), user.tzinfo).date()
    start = today - dt.timedelta(days=29)
    assert f'name="report-start" value="{start:%Y-%m-%d}"' in page
    assert f'name="report-end" value="{today:%Y-%m-%d}"' in page
    assert "style=" not in page and "<script>" not in page


def test_filters_are_prefilled_from_a_link_of_the_list(browser):
    page = body(browser.get("/exports", {"type": "running", "tag": "race", "sort": "-distance_km"}))
    assert re.search(r'<input type="text" name="type" value="running"[^>]*id="id_type"', page)
    assert 'name="tag" value="race"' in page
    assert 'name="sort"' not in page  # a CSV is always in date order


# --- CSV --------------------------------------------------------------------------------------


def test_csv_has_the_header_and_only_the_users_filtered_rows(browser, user, other_user):
    run = ActivityFactory(user=user, activity_type="running", title="Morning run",
                          activity_date=dt.datetime(2026, 3, 1, 7, tzinfo=dt.UTC))
    ActivityFactory(user=user, activity_type="yoga", activity_date=dt.datetime(2026, 3, 2, 7, tzinfo=dt.UTC))
    ActivityFactory(user=user, activity_type="running", activity_date=dt.datetime(2026, 1, 2, 7, tzinfo=dt.UTC))
    ActivityFactory(user=user, activity_type="running", deleted_at=timezone.now(),
                    activity_date=dt.datetime(2026, 3, 3, 7, tzinfo=dt.UTC))
    ActivityFactory(user=other_user, activity_type="running", title="not mine",
                    activity_date=dt.datetime(2026, 3, 1, 8, tzinfo=dt.UTC))
    response = browser.get("/exports/csv", {"type": "running", "start": "2026-02-01", "end": "2026-03-31"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Cache-Control"] == "no-store"
    today = timezone.localtime(timezone.now(), user.tzinfo).date()
    assert response["Content-Disposition"] == f'attachment; filename="activelog-activities-{today:%Y%m%d}.csv"'
    rows = csv_of(response)
    assert rows[0] == CSV_HEADER
    assert [row[0] for row in rows[1:]] == [str(run.pk)]
    assert rows[1][2] == "Morning run"


def test_csv_without_filters_has_everything_of_the_user(browser, user, other_user):
    mine = [ActivityFactory(user=user) for _ in range(3)]
    ActivityFactory(user=other_user)
    rows = csv_of(browser.get("/exports/csv"))
    assert sorted(row[0] for row in rows[1:]) == sorted(str(a.pk) for a in mine)


def test_an_invalid_filter_comes_back_next_to_its_field(browser):
    response = browser.get("/exports/csv", {"start": "tomorrow", "type": "running"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    page = body(response)
    assert 'id="id_start_errors"' in page and "Enter a valid date." in page
    assert re.search(r'<input type="date" name="start" value="tomorrow"[^>]*aria-invalid="true"', page)
    assert 'aria-describedby="id_start_errors"' in page
    assert 'name="type" value="running"' in page  # the entered values are kept


# --- PDF reports ------------------------------------------------------------------------------


def test_creating_a_report_redirects_to_it_and_the_job_is_completed_with_a_file(browser, user):
    ActivityFactory(user=user, activity_date=timezone.now() - dt.timedelta(days=2))
    response = browser.post("/exports/pdf", {"report-start": "2026-01-01", "report-end": "2026-01-31"})
    assert response.status_code == 302
    job = ExportJob.objects.get(user=user)
    assert response["Location"] == f"/exports?job={job.pk}"
    assert job.status == ExportJob.Status.COMPLETED and job.file
    assert (job.start_date, job.end_date) == (dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    page = body(browser.get(response["Location"]))
    assert 'role="progressbar"' in page and 'aria-valuenow="100"' in page
    assert "Ready" in page and ">Download report</a>" in page and "hx-trigger" not in page
    link = re.search(r'<a href="([^"]+)" class="button" download>Download report</a>', page).group(1)
    download = browser.get(html.unescape(link))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF")


def test_an_empty_period_is_the_last_30_days(browser, user):
    browser.post("/exports/pdf", {"report-start": "", "report-end": ""})
    job = ExportJob.objects.get(user=user)
    today = timezone.localtime(timezone.now(), user.tzinfo).date()
    assert (job.start_date, job.end_date) == (today - dt.timedelta(days=29), today)


def test_a_period_over_5_years_is_an_error_on_the_field(browser, user):
    response = browser.post("/exports/pdf", {"report-start": "2015-01-01", "report-end": "2025-12-31"})
    assert response.status_code == 400
    page = body(response)
    assert 'id="id_report-start_errors"' in page and "A report covers at most 5 years." in page
    assert re.search(r'name="report-start" value="2015-01-01"[^>]*aria-invalid="true"', page)
    assert not ExportJob.objects.filter(user=user).exists()


def test_a_start_after_the_end_is_an_error_on_the_field(browser, user):
    response = browser.post("/exports/pdf", {"report-start": "2026-02-01", "report-end": "2026-01-01"})
    assert response.status_code == 400
    assert 'id="id_report-start_errors"' in body(response)
    assert not ExportJob.objects.filter(user=user).exists()


def test_an_unreadable_date_is_an_error_on_the_field(browser, user):
    response = browser.post("/exports/pdf", {"report-start": "soon", "report-end": "2026-01-01"})
    assert response.status_code == 400
    assert 'id="id_report-start_errors"' in body(response)


def test_a_pending_job_polls_and_a_finished_one_stops(browser, user):
    pending = ExportJobFactory(user=user)
    fragment = body(browser.get(f"/exports/jobs/{pending.pk}", headers={"HX-Request": "true"}))
    assert f'hx-get="/exports/jobs/{pending.pk}?seen=pending-0"' in fragment and 'hx-trigger="every 1s"' in fragment
    assert 'hx-swap="outerHTML"' in fragment
    assert 'role="progressbar"' in fragment and 'aria-valuenow="0"' in fragment
    assert 'aria-valuemin="0"' in fragment and 'aria-valuemax="100"' in fragment
    assert "Report progress" in fragment and "Waiting to start" in fragment
    assert f'href="/exports?job={pending.pk}">Refresh</a>' in fragment
    assert "<html" not in fragment

    unchanged = browser.get(f"/exports/jobs/{pending.pk}", {"seen": "pending-0"})
    assert unchanged.status_code == 204 and unchanged.content == b""  # htmx swaps nothing: no repeated announcement

    ExportJob.objects.filter(pk=pending.pk).update(status=ExportJob.Status.PROCESSING, progress=40)
    fragment = body(browser.get(f"/exports/jobs/{pending.pk}", {"seen": "pending-0"}))
    assert 'aria-valuenow="40"' in fragment and "hx-trigger" in fragment and "Rendering (40%)" in fragment
    assert "?seen=processing-40" in fragment

    completed = ExportJobFactory(user=user, completed=True)
    fragment = body(browser.get(f"/exports/jobs/{completed.pk}"))
    assert "hx-trigger" not in fragment and "hx-get" not in fragment and "Refresh" not in fragment
    assert 'aria-valuenow="100"' in fragment and ">Download report</a>" in fragment
    assert "/media/signed/" in fragment and "signature=" in fragment


def test_a_failed_job_shows_its_error_as_an_alert(browser, user):
    job = ExportJobFactory(user=user, status=ExportJob.Status.FAILED, error_message="The report took too long.")
    fragment = body(browser.get(f"/exports/jobs/{job.pk}"))
    assert 'role="alert"' in fragment and "The report took too long." in fragment
    assert "hx-trigger" not in fragment and "Download report" not in fragment


def test_creating_reports_is_rate_limited_like_the_api(browser, user, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "export": "1/hour"}
    period = {"report-start": "2026-01-01", "report-end": "2026-01-31"}
    assert browser.post("/exports/pdf", period).status_code == 302
    response = browser.post("/exports/pdf", period)
    assert response.status_code == 400 and "Too many reports at once." in body(response)
    assert 'role="alert"' in body(response)
    assert ExportJob.objects.filter(user=user).count() == 1


def test_another_users_job_is_a_404_page(browser, other_user):
    theirs = ExportJobFactory(user=other_user, completed=True)
    response = browser.get(f"/exports/jobs/{theirs.pk}")
    assert response.status_code == 404 and "Page not found" in body(response)
    assert browser.get("/exports", {"job": str(theirs.pk)}).status_code == 404
    assert browser.get("/exports", {"job": "not-a-uuid"}).status_code == 404


def test_earlier_reports_are_listed_newest_first(browser, user, other_user):
    now = timezone.now()
    old = ExportJobFactory(user=user, completed=True, start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 1, 31))
    new = ExportJobFactory(user=user, start_date=dt.date(2025, 6, 1), end_date=dt.date(2025, 6, 30))
    ExportJobFactory(user=other_user, start_date=dt.date(2024, 3, 1), end_date=dt.date(2024, 3, 31))
    ExportJob.objects.filter(pk=old.pk).update(created_at=now - dt.timedelta(days=2))
    ExportJob.objects.filter(pk=new.pk).update(created_at=now - dt.timedelta(hours=1))
    page = body(browser.get("/exports"))
    assert "No reports yet" not in page
    assert page.index("1 Jun 2025 to 30 Jun 2025") < page.index("1 Jan 2025 to 31 Jan 2025")
    assert "1 Mar 2024" not in page
    assert page.count(">Download report<") == 1  # only the completed one has a file
    assert '<span class="visually-hidden"> 1 Jan 2025 to 31 Jan 2025' in page
    assert "Waiting to start" in page and "Ready" in page


def test_the_list_shows_at_most_20_reports(browser, user):
    for _ in range(22):
        ExportJobFactory(user=user)
    assert body(browser.get("/exports")).count("Waiting to start") == 20


def test_the_page_runs_a_constant_number_of_queries(browser, user, django_assert_max_num_queries):
    job = ExportJobFactory(user=user, completed=True)
    with django_assert_max_num_queries(8) as few:
        browser.get("/exports", {"job": str(job.pk)})
    for n in range(14):
        ExportJobFactory(user=user, completed=n % 2 == 0)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = body(browser.get("/exports", {"job": str(job.pk)}))
    assert page.count(">Download report<") == 9  # the job's own link and 8 in the table

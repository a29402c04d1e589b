"""The exports page in a real browser (UI.md): CSV download, a PDF report with its progress, and
the same page with JavaScript off."""

import csv
import datetime as dt
import io
import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from playwright.sync_api import expect

from accounts.models import User
from activities.models import Activity, ExportJob
from tests.browser.test_flows import sign_up

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def log(user, activity_type: str, title: str, days_ago: int) -> Activity:
    return Activity.objects.create(user=user, activity_type=activity_type, title=title, duration_minutes=30,
                                   activity_date=dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago))


def test_download_the_filtered_activities_as_csv(visit):
    page = visit.page
    sign_up(page)
    user = User.objects.get(username="walker")
    run = log(user, "running", "Canal run", 2)
    log(user, "swimming", "Lake swim", 3)

    page.goto("/exports?type=running")  # what the activity list links to, with its filters
    csv_form = page.get_by_role("region", name="Activities as CSV")
    expect(csv_form.get_by_label("Type")).to_have_value("running")
    with page.expect_download() as info:
        csv_form.get_by_role("button", name="Download CSV").click()
    download = info.value
    assert re.fullmatch(r"activelog-activities-\d{8}\.csv", download.suggested_filename)
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert rows[0][:3] == ["id", "activity_type", "title"]
    assert [row[:3] for row in rows[1:]] == [[str(run.pk), "running", "Canal run"]]
    expect(page).to_have_url(re.compile(r"/exports\?type=running$"))  # the page stays


def test_an_invalid_csv_filter_is_shown_next_to_its_field(visit):
    page = visit.page
    sign_up(page)
    page.get_by_role("link", name="Exports").click()
    page.goto("/exports/csv?start=someday")
    start = page.get_by_role("region", name="Activities as CSV").get_by_label("From")
    expect(start).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_start_errors")).to_contain_text("Enter a valid date.")


def test_create_a_pdf_report_and_download_it(visit):
    page = visit.page
    sign_up(page)
    user = User.objects.get(username="walker")
    log(user, "cycling", "Coast ride", 5)
    page.get_by_role("link", name="Exports").click()
    expect(page.get_by_text("No reports yet")).to_be_visible()

    report = page.get_by_role("region", name="PDF report")
    today = dt.date.today()
    report.get_by_label("From").fill(f"{today - dt.timedelta(days=60):%Y-%m-%d}")
    report.get_by_label("To").fill(f"{today:%Y-%m-%d}")
    report.get_by_role("button", name="Create PDF report").click()

    expect(page).to_have_url(re.compile(r"/exports\?job=[0-9a-f-]{36}$"))
    progress = page.get_by_role("progressbar", name="Report progress")
    expect(progress).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_text("Ready").first).to_be_visible()
    expect(page.get_by_role("table")).to_contain_text("Ready")

    link = page.get_by_role("link", name="Download report").first
    response = page.request.get(link.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    with page.expect_download() as info:
        link.click()
    assert info.value.suggested_filename.endswith(".pdf")
    assert open(info.value.path(), "rb").read(4) == b"%PDF"


def test_a_report_over_5_years_is_refused_on_the_field(visit):
    page = visit.page
    sign_up(page)
    page.goto("/exports")
    report = page.get_by_role("region", name="PDF report")
    report.get_by_label("From").fill("2010-01-01")
    report.get_by_label("To").fill("2020-01-01")
    report.get_by_role("button", name="Create PDF report").click()
    expect(page.get_by_role("region", name="PDF report").get_by_label("From")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("A report covers at most 5 years.")).to_be_visible()
    assert not ExportJob.objects.exists()


def _finish(job: ExportJob) -> None:
    """What the worker does at the end: store the file and complete the job."""
    name = default_storage.save(f"exports/{job.user_id}/{job.pk}/report.pdf", ContentFile(b"%PDF-1.4 test report"))
    ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.COMPLETED, progress=100, file=name,
                                               file_size=20, record_count=0)


def test_the_progress_updates_without_a_reload(visit):
    page = visit.page
    sign_up(page)
    user = User.objects.get(username="walker")
    today = dt.date.today()
    job = ExportJob.objects.create(user=user, start_date=today - dt.timedelta(days=29), end_date=today)

    page.goto(f"/exports?job={job.pk}")
    progress = page.get_by_role("progressbar", name="Report progress")
    expect(progress).to_have_attribute("aria-valuenow", "0")
    expect(page.get_by_text("Waiting to start").first).to_be_visible()
    page.evaluate("window.notReloaded = true")  # gone if the page were loaded again

    ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.PROCESSING, progress=45)
    expect(progress).to_have_attribute("aria-valuenow", "45")
    expect(page.get_by_text("Rendering (45%)")).to_be_visible()

    _finish(job)
    expect(page.get_by_role("link", name="Download report").first).to_be_visible()
    expect(progress).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#report-job")).not_to_have_attribute("hx-trigger", re.compile(".*"))
    assert page.evaluate("window.notReloaded") is True


def test_a_failed_report_says_why(visit):
    page = visit.page
    sign_up(page)
    user = User.objects.get(username="walker")
    today = dt.date.today()
    job = ExportJob.objects.create(user=user, start_date=today, end_date=today, status=ExportJob.Status.FAILED,
                                   error_message="The report took too long to render. Try a shorter period.")
    page.goto(f"/exports?job={job.pk}")
    expect(page.get_by_role("alert")).to_contain_text("Try a shorter period.")
    expect(page.get_by_role("progressbar")).to_have_count(0)


def test_the_page_works_with_javascript_off(open_visit):
    visit = open_visit(java_script_enabled=False, viewport={"width": 375, "height": 800})
    page = visit.page
    sign_up(page, "nojs")
    user = User.objects.get(username="nojs")
    today = dt.date.today()
    job = ExportJob.objects.create(user=user, start_date=today - dt.timedelta(days=6), end_date=today)

    page.goto(f"/exports?job={job.pk}")
    expect(page.get_by_role("progressbar", name="Report progress")).to_have_attribute("aria-valuenow", "0")
    _finish(job)
    page.get_by_role("link", name="Refresh").click()
    expect(page.get_by_role("link", name="Download report").first).to_be_visible()

    page.get_by_role("region", name="PDF report").get_by_role("button", name="Create PDF report").click()
    expect(page).to_have_url(re.compile(r"/exports\?job="))
    assert ExportJob.objects.filter(user=user, status=ExportJob.Status.COMPLETED).count() == 2
    assert visit.console_errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violation_in_any_state_of_the_page(open_visit, scheme):
    from axe_playwright_python.sync_playwright import Axe

    visit = open_visit(bypass_csp=True, color_scheme=scheme, viewport={"width": 1440, "height": 900})
    page = visit.page
    sign_up(page)
    user = User.objects.get(username="walker")
    today = dt.date.today()
    running = ExportJob.objects.create(user=user, start_date=today, end_date=today,
                                       status=ExportJob.Status.PROCESSING, progress=40)
    failed = ExportJob.objects.create(user=user, start_date=today, end_date=today, status=ExportJob.Status.FAILED,
                                      error_message="The report could not be rendered.")
    done = ExportJob.objects.create(user=user, start_date=today - dt.timedelta(days=9), end_date=today)
    _finish(done)
    options = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
               "resultTypes": ["violations"]}
    found = {}
    for path in ["/exports", f"/exports?job={running.pk}", f"/exports?job={failed.pk}", f"/exports?job={done.pk}",
                 "/exports/csv?start=someday"]:
        page.goto(path)
        found[path] = [(v["id"], [n["target"] for n in v["nodes"]][:3])
                       for v in Axe().run(page, options=options).response["violations"]]
    page.goto("/exports")
    page.get_by_role("region", name="PDF report").get_by_label("From").fill("2001-01-01")
    page.get_by_role("button", name="Create PDF report").click()
    expect(page.get_by_text("A report covers at most 5 years.")).to_be_visible()
    found["invalid report period"] = [v["id"] for v in Axe().run(page, options=options).response["violations"]]
    assert {path: items for path, items in found.items() if items} == {}


def test_nothing_scrolls_sideways_at_375_px(open_visit):
    visit = open_visit(viewport={"width": 375, "height": 800}, is_mobile=True)
    page = visit.page
    sign_up(page)
    user = User.objects.get(username="walker")
    today = dt.date.today()
    done = ExportJob.objects.create(user=user, start_date=today - dt.timedelta(days=9), end_date=today)
    _finish(done)
    page.goto(f"/exports?job={done.pk}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

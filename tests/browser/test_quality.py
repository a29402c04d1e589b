"""Quality bars of UI.md on every page: axe-core (WCAG 2.2 A/AA) finds nothing, light and dark,
empty and with data; nothing scrolls sideways at 375 px; the statistics page's sections exist."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from accounts.models import User
from activities.models import Activity, ExportJob
from tests.support.factories import ActivityFactory, ExportJobFactory, PhotoFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PASSWORD = "a-long-browser-password-7"
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
        "resultTypes": ["violations"]}
PUBLIC_PAGES = ["/", "/accounts/login", "/accounts/signup", "/accounts/password/reset", "/no/such/page"]
MEMBER_PAGES = ["/dashboard", "/activities", "/activities/new", "/activities/trash", "/stats", "/exports",
                "/settings"]


def member(with_data: bool) -> tuple[User, list[str]]:
    user = User.objects.create_user(username="axe", email="axe@example.com", password=PASSWORD)
    pages = list(MEMBER_PAGES)
    if with_data:
        now = dt.datetime.now(dt.UTC)
        for n in range(30):
            ActivityFactory(user=user, activity_type=["running", "cycling", "yoga"][n % 3], title=f"Session {n}",
                            distance_km=Decimal("7.50") if n % 3 != 2 else None, tags=["morning"],
                            activity_date=now - dt.timedelta(days=n * 4, hours=1))
        activity = Activity.objects.filter(user=user).first()
        PhotoFactory(activity=activity)
        ActivityFactory(user=user, deleted_at=now)
        ExportJobFactory(user=user, completed=True)
        ExportJobFactory(user=user, status=ExportJob.Status.PROCESSING, progress=40)
        pages += [f"/activities/{activity.pk}", f"/activities/{activity.pk}/edit", "/activities?page=2"]
    return user, pages


def log_in(page) -> None:
    page.goto("/accounts/login")
    page.get_by_label("Email or username").fill("axe")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def violations(page) -> list[dict]:
    found = Axe().run(page, options=WCAG).response["violations"]
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]} for v in found]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("with_data", [False, True], ids=["empty", "full"])
def test_axe_finds_no_violation_on_any_page(open_visit, scheme, with_data):
    _user, pages = member(with_data)
    visit = open_visit(bypass_csp=True, color_scheme=scheme, viewport={"width": 1440, "height": 900})
    page = visit.page
    report = {}
    for path in PUBLIC_PAGES:
        page.goto(path)
        report[f"signed out {path}"] = violations(page)
    log_in(page)
    for path in pages:
        page.goto(path)
        report[path] = violations(page)
    found = {path: items for path, items in report.items() if items}
    print(json.dumps({path: len(items) for path, items in report.items()}))  # the per-page counts
    assert found == {}, json.dumps(found, indent=1)


def test_no_page_scrolls_sideways_at_375_px(open_visit):
    _user, pages = member(with_data=True)
    visit = open_visit(viewport={"width": 375, "height": 800}, is_mobile=True)
    page = visit.page
    wide = {}
    for path in PUBLIC_PAGES:
        page.goto(path)
        wide[f"signed out {path}"] = page.evaluate("document.documentElement.scrollWidth")
    log_in(page)
    for path in pages:
        page.goto(path)
        wide[path] = page.evaluate("document.documentElement.scrollWidth")
    assert {path: width for path, width in wide.items() if width > 375} == {}


def test_the_statistics_page_has_its_sections_charts_and_tables(visit):
    member(with_data=True)
    page = visit.page
    log_in(page)
    page.get_by_role("link", name="Statistics").click()
    for heading in ["Monthly trends", "By type", "Personal records", "Streaks"]:
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(page.get_by_role("img", name="Distance per month (km)")).to_be_visible()
    expect(page.get_by_role("img", name="Minutes of activity per day, last 12 months")).to_be_visible()
    page.get_by_role("region", name="By type").get_by_text("The numbers").click()
    expect(page.get_by_role("cell", name="Running").first).to_be_visible()


def test_the_api_docs_and_the_admin_work_under_the_content_security_policy(visit):
    """Swagger UI needs inline code, so /api/docs is exempt from the policy; the admin is not."""
    User.objects.create_superuser(username="root", email="root@example.com", password=PASSWORD)
    page = visit.page
    page.goto("/api/docs")
    expect(page.get_by_role("heading", name=re.compile("ActiveLog API"))).to_be_visible()

    page.goto("/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Activities").first).to_be_visible()
    ActivityFactory(user=User.objects.get(username="root"), title="Admin-visible")
    page.goto("/admin/activities/activity/")
    expect(page.get_by_role("link", name="Admin-visible")).to_be_visible()
    assert "script-src 'self'" in page.request.get("/admin/").headers["content-security-policy"]

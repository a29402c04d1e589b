"""What a person does in the browser (UI.md), control by control, by accessible name."""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from activities.models import Activity
from tests.support.images import image_bytes

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PASSWORD = "a-long-browser-password-7"


def sign_up(page, username="walker"):
    page.goto("/")
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))


def test_sign_up_log_out_and_log_in_again(visit):
    page = visit.page
    sign_up(page)
    expect(page.get_by_role("status")).to_contain_text("Welcome to ActiveLog, walker.")

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("navigation").get_by_role("link", name="Log in")).to_be_visible()

    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Email or username").fill("walker@example.com")
    page.get_by_label("Password").fill("wrong-password-1")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("do not match an account")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/dashboard$"))
    expect(page.get_by_role("link", name="Dashboard")).to_have_attribute("aria-current", "page")


def test_log_an_activity_with_a_photo_edit_delete_and_undo(visit, tmp_path):
    page = visit.page
    sign_up(page)
    page.get_by_role("link", name="Activities").click()
    expect(page.get_by_text("Nothing logged yet")).to_be_visible()
    page.get_by_role("link", name="Log activity").first.click()

    photo = tmp_path / "summit.jpg"
    photo.write_bytes(image_bytes("JPEG", size=(320, 240)))
    when = dt.datetime.now() - dt.timedelta(hours=3)
    page.get_by_label("Activity type").fill("Hiking")
    page.get_by_label("Title").fill("Ridge walk")
    page.get_by_label("Date and time").fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Duration (minutes)").fill("150")
    page.get_by_label("Distance (km)").fill("12.4")
    page.get_by_label("Calories").fill("900")
    page.get_by_label("Tags").fill("hills, summit")
    page.get_by_label("Notes").fill("Windy at the top")
    page.get_by_label("Photos").set_input_files(str(photo))
    page.get_by_role("button", name="Save activity").click()

    expect(page.get_by_role("heading", name="Ridge walk")).to_be_visible()
    expect(page.get_by_text("12.40 km")).to_be_visible()
    expect(page.get_by_role("img", name="Photo 1 of this activity")).to_be_visible()
    thumbnail = page.get_by_role("img", name="Photo 1 of this activity")
    loaded = "img => img.complete ? img.naturalWidth : new Promise(done => img.onload = () => done(img.naturalWidth))"
    assert thumbnail.evaluate(loaded) > 0  # the signed link really serves the thumbnail

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Title").fill("Ridge walk, north side")
    page.get_by_role("button", name="Save activity").click()
    expect(page.get_by_role("heading", name="Ridge walk, north side")).to_be_visible()

    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="was deleted")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/activities/\d+$"))  # in place (htmx), no page load
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("heading", name="Ridge walk, north side")).to_be_visible()
    assert Activity.objects.get(title="Ridge walk, north side").deleted_at is None


def test_restore_from_the_trash(visit):
    page = visit.page
    sign_up(page)
    user = User.objects.get(username="walker")
    Activity.objects.create(user=user, activity_type="yoga", title="Evening flow", duration_minutes=30,
                            activity_date=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
                            deleted_at=dt.datetime.now(dt.UTC))
    page.goto("/activities/trash")
    row = page.get_by_role("row", name=re.compile("Evening flow"))
    row.get_by_role("button", name="Restore").click()
    expect(page.get_by_role("status")).to_contain_text("is back")
    page.get_by_role("link", name="Activities").click()
    expect(page.get_by_role("link", name="Evening flow")).to_be_visible()


def test_filter_in_place_and_page_through(visit):
    page = visit.page
    sign_up(page)
    user = User.objects.get(username="walker")
    now = dt.datetime.now(dt.UTC)
    Activity.objects.bulk_create([
        Activity(user=user, activity_type="running", title=f"Run {n:02d}", duration_minutes=30,
                 activity_date=now - dt.timedelta(hours=n + 1))
        for n in range(22)
    ] + [Activity(user=user, activity_type="swimming", title="Lake swim", duration_minutes=40,
                  activity_date=now - dt.timedelta(days=3))])
    page.get_by_role("link", name="Activities").click()
    expect(page.get_by_role("link", name="Run 00")).to_be_visible()
    page.get_by_role("link", name="Next").click()
    expect(page.get_by_role("link", name="Lake swim")).to_be_visible()
    page.get_by_role("link", name="Previous").click()

    page.get_by_label("Type").fill("swimming")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("link", name="Lake swim")).to_be_visible()
    expect(page.get_by_role("link", name="Run 00")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"type=swimming"))


def test_log_an_activity_with_the_keyboard_alone(visit):
    page = visit.page
    sign_up(page, "keys")
    page.get_by_role("link", name="Log activity").first.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Activity type")).to_be_visible()

    page.get_by_label("Activity type").focus()
    page.keyboard.type("Rowing")
    page.keyboard.press("Tab")
    page.keyboard.type("Erg intervals")  # Title
    # "Date and time" is filled with the present moment; Tab through its parts to the duration.
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "id_duration_minutes":
            break
    page.keyboard.type("35")
    page.keyboard.press("Enter")  # submits the form
    expect(page.get_by_role("heading", name="Erg intervals")).to_be_visible()
    assert Activity.objects.get(title="Erg intervals").duration_minutes == 35


def test_imperial_settings_apply_to_the_forms_and_pages(visit):
    page = visit.page
    sign_up(page, "miles")
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Units").select_option(label="Imperial (mi)")
    page.get_by_label("Time zone").select_option("America/Chicago")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("status")).to_contain_text("Settings saved.")

    page.goto("/activities/new")
    page.get_by_label("Activity type").fill("running")
    page.get_by_label("Date and time").fill((dt.datetime.now() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Duration (minutes)").fill("40")
    page.get_by_label("Distance (mi)").fill("5")
    page.get_by_role("button", name="Save activity").click()
    expect(page.get_by_text("5.00 mi")).to_be_visible()
    expect(page.get_by_text("8:00 /mi")).to_be_visible()


def test_password_change_and_account_deletion(visit):
    page = visit.page
    sign_up(page, "leaver")
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill("another-long-secret-8")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_contain_text("Password changed.")

    page.locator("#id_delete-password").fill("another-long-secret-8")
    page.get_by_role("button", name="Delete account").click()
    expect(page.get_by_role("status")).to_contain_text("deleted")
    assert not User.objects.filter(username="leaver").exists()


def test_another_persons_activity_is_a_404_page(visit):
    other = User.objects.create_user(username="other", email="other@example.com", password=PASSWORD)
    theirs = Activity.objects.create(user=other, activity_type="running", duration_minutes=30,
                                     activity_date=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    page = visit.page
    sign_up(page)
    response = page.goto(f"/activities/{theirs.pk}")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
